"""LightningModules of the two training stages.

Stage 1, :class:`SourceVAE`: the VAE on source-domain segments, ``L_vae = L_rec + L_KL``, in nats per segment:
for the 0/1 piano roll (task midi) a Bernoulli likelihood (binary cross-entropy of the decoder's logits, summed),
otherwise a Gaussian one with unit variance (half the summed squared error).

Stage 2 holds the trained source encoder, frozen in eval mode, and z = its mean on the parallel source
segment: :class:`TargetEncoder` (Tasks 1-2) regresses z* on z, ``MSE(z, z*)``; :class:`TargetDAE`
(Task 3) maps the mixture to the voice, ``l1(x, x~) + alpha * MSE(z, z*)`` (l1 as the mean absolute error
of the voice magnitudes). Either may start from the source model's weights (``init_from_source``).

Inputs are per-band normalised with the training statistics, which every module keeps as buffers, so a
checkpoint alone is enough to run the model on new audio (see ``da_vae.inference``).

Each stage also draws its first validation segments as images (``image_examples``, logged by the shared
``ExampleLogger`` to W&B and ``<run>/examples/``): input over reconstruction, z over z*, or mixture, estimate
and voice.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor

from common.errors import InputError
from da_vae.models import VAE, DenoisingAE, Encoder, copy_source_weights, kl_divergence

EXAMPLE_SEGMENTS = 4  # validation segments drawn side by side in the example images


def segment_strip(x: Tensor) -> np.ndarray:
    """``(n, T, F)`` segments -> ``(F, n * T)`` image array, the segments side by side in time."""
    return x.detach().float().cpu().flatten(0, 1).T.numpy()


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
        if batch_idx == 0:  # drawn here, in eval mode, and logged after the epoch by ExampleLogger
            self._examples = self.example_images(*(x[:EXAMPLE_SEGMENTS] for x in batch))
        self._log_losses("val", self.losses(*batch))

    def image_examples(self) -> dict[str, np.ndarray]:
        return getattr(self, "_examples", {})


class SourceVAE(_Stage):
    """Stage 1: the VAE on normalised source segments ``(batch, T, Fs)``."""

    stage = "source"

    def __init__(self, stats: dict[str, Tensor] | None = None, **kwargs):
        super().__init__(stats=stats, **kwargs)
        self.vae = VAE(**self.network_args("source"))
        if self.binary and stats and "source_rate" in stats:  # start from each pitch's log-odds in training:
            rate = stats["source_rate"].float().clamp(1e-3, 0.5)  # a sparse roll is far from p = 1/2
            self.vae.decoder.deconvs[-1].bias.data.copy_(torch.log(rate / (1 - rate)))

    @property
    def binary(self) -> bool:
        """The source is the 0/1 piano roll: Bernoulli likelihood, decoder outputs are logits."""
        return self.hparams.task == "midi"

    def reconstruction_loss(self, output: Tensor, source: Tensor, raw_source: Tensor) -> Tensor:
        """-log p(x | z) in nats summed over a segment, mean over the batch: BCE of the logits ``output``
        against the raw 0/1 roll, or half the squared error to the normalised ``source``."""
        if self.binary:
            return F.binary_cross_entropy_with_logits(output, raw_source, reduction="none").flatten(1).sum(1).mean()
        return 0.5 * (output - source).square().flatten(1).sum(1).mean()

    def losses(self, source: Tensor, target: Tensor, raw_source: Tensor) -> dict[str, Tensor]:
        output, mu, logvar = self.vae(source)
        rec = self.reconstruction_loss(output, source, raw_source)
        kl = kl_divergence(mu, logvar).mean()
        return {"loss": rec + kl, "rec": rec, "kl": kl}

    def example_images(self, source: Tensor, target: Tensor, raw_source: Tensor) -> dict[str, np.ndarray]:
        """Normalised source segments (top) over the VAE's reconstruction from mu (bottom; the roll's
        probabilities for a binary source), ``(2F, n T)``."""
        reconstruction = self.vae.decoder(self.vae.encoder(source)[0])
        reconstruction = torch.sigmoid(reconstruction) if self.binary else reconstruction
        return {f"{self.hparams.task}/input_over_reconstruction":
                np.concatenate([segment_strip(reconstruction), segment_strip(source)])}


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

    def example_images(self, source: Tensor, target: Tensor, raw_source: Tensor) -> dict[str, np.ndarray]:
        """z = mu(source segment) (top rows) over the target encoder's z* (bottom rows), ``(2L, n)``."""
        z, z_star = self.source_latent(source), self.encoder(target)[0]
        return {f"{self.hparams.task}/z_over_z_star": np.concatenate([z_star.T.cpu().numpy(), z.T.cpu().numpy()])}


DAE_OUTPUTS = ("mask", "magnitude")


class TargetDAE(_TargetStage):
    """Stage 2 of separation: DAE mixture -> voice, ``l1(x, x~) + alpha * MSE(z, z*)``.

    Input and estimate are magnitude spectrograms |STFT|. ``output`` says what the decoder's output layer
    gives: ``"mask"``, x~ = sigmoid(decoder) * |mixture| (a soft mask in [0, 1] on the mixture magnitude), or
    ``"magnitude"``, x~ = the voice magnitude itself, the decoder output read in the voice's normalised space
    like the source VAE's and mapped back with the voice statistics. With ``init_from_source`` and a mask, the
    copied VAE decoder starts out giving sigmoid(normalised voice magnitude): above one half where it expects
    more voice than on average.
    """

    stage = "target"

    def __init__(self, alpha: float = 1.0, output: str = "mask", **kwargs):
        if output not in DAE_OUTPUTS:
            raise ValueError(f"output={output!r}: use one of {', '.join(DAE_OUTPUTS)}")
        super().__init__(alpha=alpha, output=output, **kwargs)
        self.dae = DenoisingAE(**self.network_args("target"))

    @property
    def target_model(self) -> DenoisingAE:
        return self.dae

    def estimate(self, target: Tensor) -> tuple[Tensor, Tensor]:
        """Normalised mixture segments -> (voice magnitude estimate (batch, T, F), z*)."""
        out, z = self.dae(target)
        if self.hparams.output == "mask":
            return torch.sigmoid(out) * self.mixture_magnitude(target), z
        return out * self.source_std + self.source_mean, z

    def mixture_magnitude(self, target: Tensor) -> Tensor:
        """Normalised mixture segments -> their magnitudes |STFT| (batch, T, F)."""
        return (target * self.target_std + self.target_mean).clamp_min(0)

    def losses(self, source: Tensor, target: Tensor, raw_source: Tensor) -> dict[str, Tensor]:
        estimate, z = self.estimate(target)
        l1 = F.l1_loss(estimate, raw_source)
        mse = F.mse_loss(z, self.source_latent(source))
        return {"loss": l1 + self.hparams.alpha * mse, "l1": l1, "mse_z": mse}

    def example_images(self, source: Tensor, target: Tensor, raw_source: Tensor) -> dict[str, np.ndarray]:
        """log(1 + magnitude) of the mixture (top), the voice estimate and the true voice (bottom), ``(3F, n T)``."""
        estimate, mixture = self.estimate(target)[0].clamp_min(0), self.mixture_magnitude(target)
        strips = [segment_strip(torch.log1p(x)) for x in (raw_source, estimate, mixture)]
        return {"separation/mixture_estimate_voice": np.concatenate(strips)}


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
