"""LightningModules of the two training stages.

Stage 1, :class:`SourceVAE`: the VAE on source-domain segments, ``L_vae = L_rec + L_KL`` (Gaussian
reconstruction likelihood with unit variance: half the summed squared error, in nats per segment).

Stage 2 holds the trained source encoder, frozen in eval mode, and z = its mean on the parallel source
segment: :class:`TargetEncoder` (Tasks 1-2) regresses z* on z, ``MSE(z, z*)``; :class:`TargetDAE`
(Task 3) maps the mixture to the voice, ``l1(x, x~) + alpha * MSE(z, z*)`` (l1 as the mean absolute error
of the voice magnitudes). Either may start from the source model's weights (``init_from_source``).

Inputs are per-band normalised with the training statistics, which every module keeps as buffers, so a
checkpoint alone is enough to run the model on new audio (see ``da_vae.inference``).
"""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor

from common.errors import InputError
from da_vae.models import VAE, DenoisingAE, Encoder, copy_source_weights, kl_divergence


class _Stage(pl.LightningModule):
    """Shared by all stages: hyperparameters, normalisation buffers and the Adam optimizer.

    ``bands = (source F, target F)``; ``features`` holds the feature settings (sample rate, n_fft,
    hop_ms, mel bands) inference needs; ``stats`` the per-band train mean/std (zeros/ones when loading).
    """

    stage = ""

    def __init__(self, *, task: str, bands: list[int], frames: int, model: dict, optim: dict, features: dict,
                 stats: dict[str, Tensor] | None = None, **extra):
        super().__init__()
        self.save_hyperparameters(ignore=["stats"])
        self.hparams["stage"] = self.stage
        for domain, n in zip(("source", "target"), bands):
            mean = stats[f"{domain}_mean"] if stats else torch.zeros(n)
            std = stats[f"{domain}_std"] if stats else torch.ones(n)
            self.register_buffer(f"{domain}_mean", mean.float().clone())
            self.register_buffer(f"{domain}_std", std.float().clone())

    def network_args(self, domain: str) -> dict:
        bands = self.hparams.bands[0 if domain == "source" else 1]
        return dict(bands=bands, frames=self.hparams.frames, latent_dim=self.hparams.model["latent_dim"],
                    channels=tuple(self.hparams.model["channels"]), hidden=self.hparams.model["hidden"])

    def normalise(self, x: Tensor, domain: str) -> Tensor:
        """Raw features ``(..., F)`` -> per-band normalised."""
        return (x - getattr(self, f"{domain}_mean")) / getattr(self, f"{domain}_std")

    def configure_optimizers(self):
        o = self.hparams.optim
        params = [p for p in self.parameters() if p.requires_grad]
        return torch.optim.Adam(params, lr=o["lr"], betas=tuple(o["betas"]), eps=o["eps"])

    def _log_losses(self, split: str, losses: dict[str, Tensor]) -> None:
        for name, value in losses.items():
            self.log(f"{split}/{name}", value, prog_bar=name == "loss", sync_dist=split == "val")

    def training_step(self, batch, batch_idx):
        losses = self.losses(*batch)
        self._log_losses("train", losses)
        return losses["loss"]

    def validation_step(self, batch, batch_idx):
        self._log_losses("val", self.losses(*batch))


class SourceVAE(_Stage):
    """Stage 1: the VAE on normalised source segments ``(batch, T, Fs)``."""

    stage = "source"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.vae = VAE(**self.network_args("source"))

    def losses(self, source: Tensor, target: Tensor, raw_source: Tensor) -> dict[str, Tensor]:
        reconstruction, mu, logvar = self.vae(source)
        rec = 0.5 * (reconstruction - source).square().flatten(1).sum(1).mean()
        kl = kl_divergence(mu, logvar).mean()
        return {"loss": rec + kl, "rec": rec, "kl": kl}


class _TargetStage(_Stage):
    """Stage 2 base: a frozen source encoder giving z = mu(source segment)."""

    def __init__(self, init_from_source: bool = True, **kwargs):
        super().__init__(init_from_source=init_from_source, **kwargs)
        self.source = Encoder(**self.network_args("source"))
        self.source.requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        self.source.eval()  # frozen: batch norm keeps the source statistics
        return self

    @torch.no_grad()
    def source_latent(self, source: Tensor) -> Tensor:
        return self.source(source)[0]

    def start_from(self, vae: VAE) -> _TargetStage:
        """Copy the trained source encoder in, and the source weights into the target model if
        ``init_from_source``; returns self."""
        self.source.load_state_dict(vae.encoder.state_dict())
        if self.hparams.init_from_source:
            copy_source_weights(vae, self.target_model)
        return self


class TargetEncoder(_TargetStage):
    """Stage 2 of the alignment tasks: target encoder on normalised target segments, ``MSE(z, z*)``."""

    stage = "target"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.encoder = Encoder(**self.network_args("target"))

    @property
    def target_model(self) -> Encoder:
        return self.encoder

    def losses(self, source: Tensor, target: Tensor, raw_source: Tensor) -> dict[str, Tensor]:
        loss = F.mse_loss(self.encoder(target)[0], self.source_latent(source))
        return {"loss": loss, "mse_z": loss}


class TargetDAE(_TargetStage):
    """Stage 2 of separation: DAE mixture -> voice, ``l1(x, x~) + alpha * MSE(z, z*)``.

    Input and output are magnitude spectrograms |STFT|; the decoder output lives in the voice's normalised
    space (like the source VAE's) and is mapped back to magnitudes with the voice statistics for the l1 loss.
    """

    stage = "target"

    def __init__(self, alpha: float = 1.0, **kwargs):
        super().__init__(alpha=alpha, **kwargs)
        self.dae = DenoisingAE(**self.network_args("target"))

    @property
    def target_model(self) -> DenoisingAE:
        return self.dae

    def estimate(self, target: Tensor) -> tuple[Tensor, Tensor]:
        """Normalised mixture segments -> (voice magnitude estimate (batch, T, F), z*)."""
        out, z = self.dae(target)
        return out * self.source_std + self.source_mean, z

    def losses(self, source: Tensor, target: Tensor, raw_source: Tensor) -> dict[str, Tensor]:
        estimate, z = self.estimate(target)
        l1 = F.l1_loss(estimate, raw_source)
        mse = F.mse_loss(z, self.source_latent(source))
        return {"loss": l1 + self.hparams.alpha * mse, "l1": l1, "mse_z": mse}


def load_stage(path: str | Path, task: str, stage: str, missing_hint: str) -> _Stage:
    """The ``stage`` ("source" or "target") model of ``task`` saved in checkpoint ``path``, in eval mode.

    ``InputError`` naming the file when it is missing (with ``missing_hint``), unreadable, or of another
    task or stage."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such checkpoint; {missing_hint}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
        hp, state = dict(checkpoint["hyper_parameters"]), checkpoint["state_dict"]
    except Exception as err:  # a truncated or foreign file fails in many ways
        raise InputError(f"{path}: not a readable da_vae checkpoint ({type(err).__name__}); pass a last.ckpt "
                         "written by `python -m da_vae train`") from None
    if hp.get("stage") != stage or hp.get("task") != task:
        raise InputError(f"{path}: holds a stage={hp.get('stage')} model of task={hp.get('task')}, but this "
                         f"needs the stage-{1 if stage == 'source' else 2} ({stage}) model of task {task}")
    cls = SourceVAE if stage == "source" else TargetDAE if task == "separation" else TargetEncoder
    module = cls(**{k: v for k, v in hp.items() if k != "stage"})
    module.load_state_dict(state)
    return module.eval()
