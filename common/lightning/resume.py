"""Resuming with nothing lost: what the killed launch logged after its checkpoint is superseded, in the CSV and in
the offline W&B run, by what the resumed launch logs; and the random state (data order, torch, numpy, python)
travels in the checkpoint, so a killed and resumed run ends where an uninterrupted one does."""

from __future__ import annotations

import csv
import logging
import os
import random
import shutil
from pathlib import Path

import numpy as np
import torch
from pytorch_lightning.callbacks import Callback, ModelCheckpoint

log = logging.getLogger(__name__)


def checkpoint_step(path: str | Path) -> int:
    """The global step a checkpoint was written at (memory-mapped: nothing but the header is read)."""
    return int(torch.load(path, map_location="cpu", weights_only=False, mmap=True)["global_step"])


def csv_files(directory: Path) -> list[Path]:
    """The CSV logger's ``metrics.csv`` of every launch, oldest first."""
    versions = (directory / "csv").glob("version_*/metrics.csv")
    return sorted(versions, key=lambda p: int(p.parent.name.split("_")[1]))


def read_rows(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def supersede_csv(directory: Path, step: int) -> list[dict]:
    """Drops the rows at ``step`` or later from earlier launches' CSVs (the resumed launch logs them again);
    returns the rows kept, oldest first, for replay into a fresh W&B run."""
    kept_all = []
    for path in csv_files(directory):
        fields, rows = read_rows(path)
        kept = [row for row in rows if row.get("step", "") == "" or int(float(row["step"])) < step]
        if len(kept) < len(rows):
            tmp = path.with_name(path.name + ".tmp")
            with open(tmp, "w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=fields)
                writer.writeheader()
                writer.writerows(kept)
            os.replace(tmp, path)
            log.info("%s: %d row(s) logged after the checkpoint at step %d are superseded by this launch", path,
                     len(rows) - len(kept), step)
        kept_all += kept
    return kept_all


def supersede_wandb(directory: Path) -> int:
    """Moves the offline W&B runs of earlier launches to ``wandb/superseded/`` (their history is rebuilt from
    the CSV by :func:`replay`); returns how many were moved."""
    runs = sorted((directory / "wandb").glob("offline-run-*"))
    if runs:
        target = directory / "wandb" / "superseded"
        target.mkdir(parents=True, exist_ok=True)
        for run in runs:
            shutil.move(str(run), str(target / run.name))
    return len(runs)


def replay(logger, rows: list[dict]) -> None:
    """Logs CSV ``rows`` (one dict per row, empty cells absent) into ``logger`` at their steps."""
    for row in rows:
        step = int(float(row["step"]))
        metrics = {k: float(v) for k, v in row.items() if k != "step" and v not in ("", None)}
        if metrics:
            logger.log_metrics(metrics, step=step)


class RandomState(Callback):
    """Saves the torch, numpy and python random states in every checkpoint (as tensors and plain numbers, so
    checkpoints still load with ``weights_only=True``) and restores them on resume where an uninterrupted run
    would have been: mid-epoch, just before the next batch; after an epoch's last batch, at the next epoch's
    start. Validation runs on a copy of the random state (the training's is put back after it), so where and
    whether validation ran (an uninterrupted run validates at a step the resumed one may not repeat) never
    changes the training's noise."""

    def __init__(self):
        self.pending: dict | None = None
        self.epoch_end = False
        self.training: dict | None = None  # the state validation found (it makes its data iterator first)

    def on_sanity_check_start(self, trainer, pl_module) -> None:
        self.training = self.capture()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        self.epoch_end = bool(trainer.fit_loop.epoch_loop.batch_progress.is_last_batch)
        self.training = self.capture()

    def on_validation_end(self, trainer, pl_module) -> None:
        if self.training is not None:
            self.restore(self.training)

    def state_dict(self) -> dict:
        return {"epoch_end": self.epoch_end, **self.capture()}

    @staticmethod
    def capture() -> dict:
        kind, keys, pos, has_gauss, gauss = np.random.get_state()  # noqa: NPY002 (the global state is the point)
        version, internal, gauss_next = random.getstate()
        return {"torch": torch.get_rng_state(),
                "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                          "has_gauss": int(has_gauss), "gauss": float(gauss)},
                "python": {"version": version, "internal": torch.tensor(internal, dtype=torch.int64),
                           "gauss_next": gauss_next}}

    def load_state_dict(self, state: dict) -> None:
        self.pending = state

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        if self.pending is not None and self.pending.get("epoch_end"):
            self.restore(self.pending)
            self.pending = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        if self.pending is not None:
            self.restore(self.pending)
            self.pending = None

    @staticmethod
    def restore(state: dict) -> None:
        torch.set_rng_state(state["torch"])
        n = state["numpy"]
        np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],  # noqa: NPY002
                             n["gauss"]))
        p = state["python"]
        random.setstate((p["version"], tuple(int(v) for v in p["internal"]), p["gauss_next"]))


class FinalStepCheckpoint(Callback):
    """Writes ``last.ckpt`` after the run's final step (``trainer.max_steps``) from inside the training loop,
    where the data loader's position is still known; a checkpoint written after ``fit`` returns holds a
    data-loader state reset to the start of the epoch, so continuing the run would replay those batches."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.saved_step: int | None = None  # the same on every rank (each runs this callback)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        if trainer.max_steps > 0 and trainer.global_step >= trainer.max_steps:
            trainer.save_checkpoint(self.path)
            self.saved_step = trainer.global_step


class PeriodicCheckpoint(ModelCheckpoint):
    """``last.ckpt`` every ``every_n_train_steps``; unlike Lightning's, none when training ends: one written after
    the loop has closed the epoch marks a run stopped mid-epoch as past it, so the resumed run would count one
    epoch too many. :class:`FinalStepCheckpoint` and ``fit`` write the final one."""

    def on_train_end(self, trainer, pl_module) -> None:
        pass
