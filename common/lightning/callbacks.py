"""Callbacks every paper's Trainer gets: a non-finite-loss guard and audio/spectrogram example logging."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.loggers import WandbLogger

from common.errors import InputError
from common.images import heatmap_image, spectrogram_image

log = logging.getLogger(__name__)


class NonFiniteLossError(InputError):
    """Training produced a NaN or infinite loss."""


class NonFiniteLossGuard(Callback):
    """Stops training with a clear message the first time the training loss is NaN or infinite, before
    its gradients reach the weights (so checkpoints never hold the poisoned update).

    All DDP ranks agree on the decision (any rank non-finite -> every rank stops), so none hangs.
    """

    def on_before_backward(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           loss: torch.Tensor) -> None:
        bad = not bool(torch.isfinite(loss.detach()).all())
        if trainer.world_size > 1:
            bad = trainer.strategy.reduce_boolean_decision(bad, all=False)
        if bad:
            value = loss.detach().float().mean().item()
            raise NonFiniteLossError(
                f"training loss became {value} at global step {trainer.global_step} (epoch "
                f"{trainer.current_epoch}); lower the learning rate, set trainer.gradient_clip_val, or check the "
                f"data for non-finite values")


class ExampleLogger(Callback):
    """After validation, logs the module's audio examples and their spectrograms.

    A LightningModule opts in by defining ``audio_examples() -> dict[str, (waveform, sample_rate)]``
    (waveform: mono float array or tensor, (samples,), in [-1, 1]) and/or
    ``image_examples() -> dict[str, array (H, W)]`` for latent or feature plots. Examples go to every
    W&B logger and to ``<directory>/step-<global_step>/`` as .wav and .png files.
    """

    def __init__(self, directory: Path, every_n_epochs: int = 1):
        self.directory = Path(directory)
        self.every_n_epochs = every_n_epochs

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        has_audio, has_images = hasattr(pl_module, "audio_examples"), hasattr(pl_module, "image_examples")
        if (trainer.current_epoch % self.every_n_epochs) != 0 or not (has_audio or has_images):
            return
        from matplotlib.image import imsave

        from common.audio import save_audio

        audio = {name: (np.asarray(torch.as_tensor(w).detach().float().cpu()).reshape(-1), int(sr))
                 for name, (w, sr) in (pl_module.audio_examples() if has_audio else {}).items()}
        images = {f"{name}/spectrogram": spectrogram_image(w) for name, (w, _) in audio.items()}
        if has_images:
            for name, array in pl_module.image_examples().items():
                images[name] = heatmap_image(np.asarray(torch.as_tensor(array).detach().float().cpu()))

        out = self.directory / f"step-{trainer.global_step}"
        for name, (waveform, sr) in audio.items():
            save_audio(out / f"{name}.wav", np.clip(waveform, -1.0, 1.0), sr)
        for name, image in images.items():
            path = out / f"{name.replace('/', '_')}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            imsave(path, image)

        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                step = trainer.global_step
                for name, (waveform, sr) in audio.items():
                    logger.log_audio(f"examples/{name}", [waveform], step=step, sample_rate=[sr])
                for name, image in images.items():
                    logger.log_image(f"examples/{name}", [image], step=step)
        log.info("wrote %d audio examples and %d images to %s", len(audio), len(images), out)
