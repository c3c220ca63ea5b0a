"""The probe a full-size dry run reads: with ``MUSICREP_DRYRUN=<folder>`` in the environment, every rank writes
``<folder>/rank<k>.json`` when fit ends (world size, global step, a SHA-256 of its parameters and buffers, the
last logged metrics), so a test can check that DDP ranks agree and the losses are finite."""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback

ENV = "MUSICREP_DRYRUN"


def state_digest(module: pl.LightningModule) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


class DryRunProbe(Callback):
    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
        record = {"rank": trainer.global_rank, "world_size": trainer.world_size, "global_step": trainer.global_step,
                  "state_sha256": state_digest(pl_module), "metrics": metrics,
                  "finite": all(math.isfinite(v) for v in metrics.values())}
        (self.folder / f"rank{trainer.global_rank}.json").write_text(json.dumps(record, indent=2))


def probes() -> list[Callback]:
    """The probe when ``MUSICREP_DRYRUN`` is set, else nothing."""
    folder = os.environ.get(ENV)
    return [DryRunProbe(folder)] if folder else []
