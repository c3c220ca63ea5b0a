"""The LightningModule of every Table 1 system: the network of ``speech2sing.models``, the MSE / MTL loss,
Adam with exponential learning-rate decay, and validation audio examples (stretched speech, prediction
through Griffin-Lim, target singing) for W&B and ``<run>/examples/``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from torch import Tensor

from common.errors import InputError
from common.lightning.checkpoint import load_checkpoint
from speech2sing import features as fx
from speech2sing.models import Speech2Singing, mtl_loss

PACKAGE = "speech2sing"
INIT_KEYS = ("system_name", "system", "model", "optim", "features", "pitch_range_hz")


class Speech2SingModule(pl.LightningModule):
    """``system``: the switches of ``speech2sing.config.SYSTEMS`` (melody, skips, norm, mtl_lambda, align,
    source); ``model`` / ``optim`` the config sections; ``features`` sample rate, n_fft, hop and silence
    settings, kept so a checkpoint alone converts new speech; ``pitch_range_hz`` the lowest and highest voiced
    F0 of the training melodies (``checkpoint_facts``: ``convert`` refuses melodies outside it).
    ``checkpoint_path``: the file it was loaded from (:func:`load_module`), named in errors about its outputs."""

    checkpoint_path: str | None = None

    def __init__(self, *, system_name: str, system: dict, model: dict, optim: dict, features: dict,
                 pitch_range_hz: tuple[float, float] | None = None):
        super().__init__()
        self.save_hyperparameters()
        self.network = Speech2Singing(bins=features["n_fft"] // 2 + 1, channels=model["channels"],
                                      melody=system["melody"], skips=system["skips"], norm=system["norm"],
                                      phone_head=system["mtl_lambda"] > 0, phones=model["phones"],
                                      phone_channels=model["phone_channels"],
                                      melody_skip=model.get("melody_skip", False))

    @property
    def checkpoint_kind(self) -> str:
        """The Table 1 system (``load_checkpoint`` lets a verb accept only some)."""
        return self.hparams.system_name

    def checkpoint_facts(self) -> dict:
        return {"melody": bool(self.hparams.system["melody"]), "pitch_range_hz": self.hparams.pitch_range_hz}

    def forward(self, x: Tensor, c: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        return self.network(x, c if self.hparams.system["melody"] else None)

    def losses(self, batch) -> dict[str, Tensor]:
        X, C, Y, phones, mask = batch
        y_hat, logits = self(X, C)
        return mtl_loss(y_hat, Y, mask, logits, phones, self.hparams.system["mtl_lambda"])

    def training_step(self, batch, batch_idx):
        losses = self.losses(batch)
        for name, value in losses.items():
            self.log(f"train/{name}", value, prog_bar=name == "loss")
        return losses["loss"]

    def validation_step(self, batch, batch_idx):
        losses = self.losses(batch)
        for name, value in losses.items():
            self.log(f"val/{name}", value, batch_size=len(batch[0]))
        if batch_idx == 0:
            self._example = [x[0, :, : int(batch[4][0].sum())] for x in (batch[0], batch[1], batch[2])]

    def audio_examples(self) -> dict[str, tuple[np.ndarray, int]]:
        """The first validation sample: input (stretched speech), output (through Griffin-Lim), target."""
        if not hasattr(self, "_example"):
            return {}
        X, C, Y = self._example
        with torch.no_grad():
            y_hat = self(X[None], C[None])[0][0]
        f, name = self.hparams.features, self.hparams.system_name
        hop, sr = f["hop_length"], f["sample_rate"]
        audio = {f"{name}/{role}": fx.synthesize(S.cpu(), hop, n_iter=16) for role, S in
                 (("input", X), ("output", y_hat), ("target", Y))}
        return {key: (wave / max(1e-6, float(np.abs(wave).max())), sr) for key, wave in audio.items()}

    def configure_optimizers(self):
        o = self.hparams.optim
        # fused: one kernel for all parameters (the same update, a third of the unfused optimizer's CPU time)
        optimizer = torch.optim.Adam(self.parameters(), lr=o["lr"], fused=True)
        # stepped every batch on the global step (Lightning's `frequency` counts batches within an epoch)
        decay = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: learning_rate(o, step) / o["lr"])
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": decay, "interval": "step"}}


def learning_rate(optim: dict, step: int) -> float:
    """The rate after ``step`` optimizer steps: ``lr * decay ** (step // decay_every)``. Stated in optimizer steps,
    which every DDP rank takes together (one per global batch), so the world size does not change it."""
    return optim["lr"] * optim["decay"] ** (step // optim["decay_every"])


def load_module(path: str | Path, systems: list[str] | None = None, hint: str = "") -> Speech2SingModule:
    """A trained module from ``path`` in eval mode (``common.lightning.checkpoint.load_checkpoint``: a folder,
    a missing, unreadable or foreign file, or a system not in ``systems``, is one ``InputError`` naming it)."""
    checkpoint = load_checkpoint(path, PACKAGE, systems, hint)
    hp = dict(checkpoint["hyper_parameters"])
    try:
        module = Speech2SingModule(**{k: hp[k] for k in INIT_KEYS if k in hp})
        module.load_state_dict(checkpoint["state_dict"])
    except (KeyError, TypeError, RuntimeError) as err:
        raise InputError(f"{path}: its weights do not fit the speech2sing network ({type(err).__name__}); pass a "
                         "last.ckpt written by `python -m speech2sing train`") from None
    module.checkpoint_path = str(path)
    return module.eval()
