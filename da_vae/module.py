"""LightningModules of the two training stages.

Stage 1, :class:`SourceVAE`: the VAE on source-domain segments, ``L_vae = L_rec + L_KL``, in nats per segment.
Task 1: the 0/1 piano roll with a Bernoulli likelihood (binary cross-entropy of the decoder's logits, summed).
Task 2: a Gaussian likelihood with unit variance on the per-band normalised features (half the summed squared
error). Task 3 (separation): the VAE encodes and decodes the voice representation ``log(1 + |STFT|)``
(:func:`voice_representation`) with the loss of the DAE summed over the segment (``voice_loss``: l2, a Gaussian
of unit variance, or l1, a Laplace of unit scale), so that both decode the same space with the same loss.

Stage 2 holds the trained source encoder, frozen in eval mode, and z = its mean on the parallel source
segment: :class:`TargetEncoder` (Tasks 1-2) regresses z* on z, ``MSE(z, z*)``; :class:`TargetDAE`
(Task 3) maps the mixture to the voice, ``rec(x, x~) + alpha * MSE(z, z*)`` on ``log(1 + |STFT|)``. Either may
start from the source model's weights (``init_from_source``).

Inputs are per-band normalised with the training statistics, kept as buffers, so a checkpoint alone runs the
model on new audio (``da_vae.inference.load_stage``); separation models take ``log(1 + |STFT|)`` as it is.
Training noise and augmentation draw from ``step_generator(run.seed, rank, step)``. Each stage draws its first
validation segments as images for W&B and ``<run>/examples/`` (``image_examples``).
"""

from __future__ import annotations

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor

from da_vae.augment import augment_audio, step_generator
from da_vae.features import hop_length, log_mel_segments
from da_vae.models import (
    VAE,
    DenoisingAE,
    Encoder,
    copy_source_weights,
    kl_divergence,
    start_at_mean_voice,
    voice_error,
    voice_representation,
)

EXAMPLE_SEGMENTS = 4  # validation segments drawn side by side in the example images (one column each for latents)


def kind(task: str, stage: str) -> str:
    """The stamped model kind of ``stage`` ("source" VAE or "target" model) of ``task``: "<task> <stage>"."""
    return f"{task} {stage}"


def segment_strip(x: Tensor) -> np.ndarray:
    """``(n, T, F)`` segments -> ``(F, n * T)`` image array, the segments side by side in time."""
    return x.detach().float().cpu().flatten(0, 1).T.numpy()


class _Stage(pl.LightningModule):
    """Shared by all stages: hyperparameters, normalisation buffers and the Adam optimizer. ``bands = (source F,
    target F)``; ``features``: the feature settings inference needs; ``stats``: per-band train mean/std."""

    stage = ""
    example_segments = EXAMPLE_SEGMENTS

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

    @property
    def checkpoint_kind(self) -> str:
        """What the checkpoint stamp calls this model (``kind``): e.g. "midi target" (see :func:`kind`)."""
        return kind(self.hparams.task, self.stage)

    def network_args(self, domain: str) -> dict:
        bands = self.hparams.bands[0 if domain == "source" else 1]
        return dict(bands=bands, frames=self.hparams.frames, latent_dim=self.hparams.model["latent_dim"],
                    channels=tuple(self.hparams.model["channels"]), hidden=self.hparams.model["hidden"])

    def normalise(self, x: Tensor, domain: str) -> Tensor:
        """Raw features ``(..., F)`` -> per-band normalised."""
        return (x - getattr(self, f"{domain}_mean")) / getattr(self, f"{domain}_std")

    def raw(self, x: Tensor, domain: str) -> Tensor:
        """Per-band normalised features -> raw ones (the inverse of :meth:`normalise`)."""
        return x * getattr(self, f"{domain}_std") + getattr(self, f"{domain}_mean")

    def configure_optimizers(self):
        """Adam, fused (one kernel for all parameters: about a third of a CPU step less than one call per
        parameter tensor, the same update)."""
        o = self.hparams.optim
        params = [p for p in self.parameters() if p.requires_grad]
        return torch.optim.Adam(params, lr=o["lr"], betas=tuple(o["betas"]), eps=o["eps"], fused=True)

    def _log_losses(self, split: str, losses: dict[str, Tensor]) -> None:
        for name, value in losses.items():
            self.log(f"{split}/{name}", value, prog_bar=name == "loss", sync_dist=split == "val")

    def training_step(self, batch, batch_idx):
        self.noise = step_generator(self.hparams.get("seed", 0), self.global_rank, self.global_step, self.device)
        losses = self.losses(*batch)
        if self._trainer is None or self.logs_this_step():
            self._log_losses("train", losses)
        return losses["loss"]

    def logs_this_step(self) -> bool:
        """Whether the loggers record this training step (every ``trainer.log_every_n_steps``): only then are the
        losses handed to ``self.log``, whose bookkeeping costs about as much as the optimizer step of these
        small networks on a CPU."""
        every = self.trainer.log_every_n_steps
        return every > 0 and ((self.global_step + 1) % every == 0 or self.global_step + 1 >= self.trainer.max_steps)

    def validation_step(self, batch, batch_idx):
        if batch_idx == 0:  # drawn here, in eval mode, and logged after the epoch by ExampleLogger
            self._examples = self.example_images(*(x[:self.example_segments] for x in batch))
        self._log_losses("val", self.losses(*batch))

    def image_examples(self) -> dict[str, np.ndarray]:
        return getattr(self, "_examples", {})


class SourceVAE(_Stage):
    """Stage 1: the VAE on source segments ``(batch, T, Fs)``: normalised features (Tasks 1-2) or the voice
    representation (separation)."""

    stage = "source"

    def __init__(self, stats: dict[str, Tensor] | None = None, **kwargs):
        super().__init__(stats=stats, **kwargs)
        self.vae = VAE(**self.network_args("source"))
        if self.binary and stats and "source_rate" in stats:  # start from each pitch's log-odds in training:
            rate = stats["source_rate"].float().clamp(1e-3, 0.5)  # a sparse roll is far from p = 1/2
            self.vae.decoder.deconvs[-1].bias.data.copy_(torch.log(rate / (1 - rate)))
        start_at_mean_voice(self.vae.decoder, stats)

    @property
    def binary(self) -> bool:
        """The source is the 0/1 piano roll: Bernoulli likelihood, decoder outputs are logits."""
        return self.hparams.task == "midi"

    def reconstruction_loss(self, output: Tensor, x: Tensor, raw_source: Tensor) -> Tensor:
        """-log p(x | z) + const in nats summed over a segment, mean over the batch: BCE of the logits ``output``
        against the raw 0/1 roll, else the voice loss (l2: a Gaussian of unit variance; l1 for separation's
        ``voice_loss=l1``: a Laplace of unit scale) to the VAE input ``x``."""
        if self.binary:
            return F.binary_cross_entropy_with_logits(output, raw_source, reduction="none").flatten(1).sum(1).mean()
        loss = self.hparams.get("voice_loss", "l2") if self.hparams.task == "separation" else "l2"
        return voice_error(output, x, loss).flatten(1).sum(1).mean()

    def vae_input(self, source: Tensor, raw_source: Tensor) -> Tensor:
        return voice_representation(raw_source) if self.hparams.task == "separation" else source

    def losses(self, source: Tensor, target: Tensor, raw_source: Tensor) -> dict[str, Tensor]:
        x = self.vae_input(source, raw_source)
        output, mu, logvar = self.vae(x, getattr(self, "noise", None))  # this rank's and step's draws
        rec = self.reconstruction_loss(output, x, raw_source)
        kl = kl_divergence(mu, logvar).mean()
        return {"loss": rec + kl, "rec": rec, "kl": kl}

    def example_images(self, source: Tensor, target: Tensor, raw_source: Tensor) -> dict[str, np.ndarray]:
        """VAE input segments (top) over the VAE's reconstruction from mu (bottom; the roll's probabilities for
        a binary source), ``(2F, n T)``."""
        x = self.vae_input(source, raw_source)
        reconstruction = self.vae.decoder(self.vae.encoder(x)[0])
        reconstruction = torch.sigmoid(reconstruction) if self.binary else reconstruction
        return {f"{self.hparams.task}/input_over_reconstruction":
                np.concatenate([segment_strip(reconstruction), segment_strip(x)])}


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
    """Stage 2 of the alignment tasks: target encoder on normalised target segments, ``MSE(z, z*)``.

    With ``augment`` (the ``data.augment`` settings) training batches carry the target audio of each segment as
    a fourth tensor: it is augmented (``da_vae.augment``) and its log-mel taken here, on the batch's device."""

    stage = "target"
    example_segments = 16 * EXAMPLE_SEGMENTS  # a latent is one column: more segments make a readable picture

    def __init__(self, augment: dict | None = None, **kwargs):
        super().__init__(augment=augment, **kwargs)
        self.encoder = Encoder(**self.network_args("target"))

    def training_step(self, batch, batch_idx):
        if len(batch) == 4:  # (source, cached target, raw source, target audio): augmented with this rank's draws
            draws = step_generator(self.hparams.get("seed", 0), self.global_rank, self.global_step, self.device)
            batch = (batch[0], self.augmented_target(batch[3], draws), batch[2])
        return super().training_step(batch, batch_idx)

    def augmented_target(self, audio: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Target audio segments ``(batch, samples)`` -> normalised log-mel ``(batch, T, F)`` of their
        augmented versions."""
        f = self.hparams.features
        hop = hop_length(f["sample_rate"], f["hop_ms"])
        augmented = augment_audio(audio, f["sample_rate"], self.hparams.augment, generator)
        return self.normalise(log_mel_segments(augmented, f["sample_rate"], f["n_fft"], hop, f["n_mels"]), "target")

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


DAE_OUTPUTS = ("magnitude", "mask")


class TargetDAE(_TargetStage):
    """Stage 2 of separation: DAE mixture -> voice, ``rec(x, x~) + alpha * MSE(z, z*)`` (equation 3).

    The DAE reads ``log(1 + |mixture|)``; x and x~ are the voice representation ``log(1 + |voice|)`` and its
    estimate, compared bin by bin with the VAE's loss (``voice_loss``: l2, squared error / 2, or the paper's
    l1) averaged over the T x F bins; MSE is the mean over the L latent dimensions. (A loss summed over the
    segment with weight alpha is the same objective, up to a constant factor, as this mean with
    alpha / (T F).) z = mu of the frozen VAE encoder on the voice, z* = the DAE encoder's mu on the mixture.
    ``output`` says what the decoder's output layer gives:

    - ``"magnitude"`` (the paper's): the voice representation itself, like the VAE decoder, so "+wt"
      starts from a decoder that already maps latents to voices;
    - ``"mask"``: logits of a soft mask, x~ = log(1 + sigmoid(output) |mixture|); "+wt" then starts the mask
      logits from the VAE's voice decoder.
    """

    stage = "target"

    def __init__(self, alpha: float = 1.0, output: str = "magnitude", voice_loss: str = "l2", **kwargs):
        if output not in DAE_OUTPUTS:
            raise ValueError(f"output={output!r}: use one of {', '.join(DAE_OUTPUTS)}")
        super().__init__(alpha=alpha, output=output, voice_loss=voice_loss, **kwargs)
        self.dae = DenoisingAE(**self.network_args("target"))
        if output == "magnitude":  # "+wt" overwrites it with the VAE's decoder (``start_from``)
            start_at_mean_voice(self.dae.decoder, kwargs.get("stats"))

    @property
    def target_model(self) -> DenoisingAE:
        return self.dae

    def estimate_representation(self, mixture: Tensor) -> tuple[Tensor, Tensor]:
        """Mixture magnitudes ``(batch, T, F)`` -> (voice representation estimate (batch, T, F), z*)."""
        out, z = self.dae(voice_representation(mixture))
        if self.hparams.output == "mask":
            return voice_representation(torch.sigmoid(out) * mixture), z
        return out, z

    def separate(self, mixture: Tensor) -> Tensor:
        """Mixture magnitudes ``(batch, T, F)`` -> voice magnitude estimates, each in [0, mixture]."""
        return torch.minimum(torch.expm1(self.estimate_representation(mixture)[0]).clamp_min(0), mixture)

    def losses(self, source: Tensor, target: Tensor, raw_source: Tensor) -> dict[str, Tensor]:
        estimate, z_star = self.estimate_representation(self.raw(target, "target").clamp_min(0))
        voice = voice_representation(raw_source)
        rec = voice_error(estimate, voice, self.hparams.voice_loss).mean()
        mse = F.mse_loss(z_star, self.source_latent(voice))
        return {"loss": rec + self.hparams.alpha * mse, "rec": rec, "mse_z": mse}

    def example_images(self, source: Tensor, target: Tensor, raw_source: Tensor) -> dict[str, np.ndarray]:
        """log(1 + magnitude) of the mixture (top), the voice estimate and the true voice (bottom), ``(3F, n T)``."""
        mixture = self.raw(target, "target").clamp_min(0)
        estimate = self.estimate_representation(mixture)[0]
        strips = [segment_strip(x) for x in (voice_representation(raw_source), estimate,
                                             voice_representation(mixture))]
        return {"separation/mixture_estimate_voice": np.concatenate(strips)}
