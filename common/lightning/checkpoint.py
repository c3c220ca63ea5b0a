"""Checkpoint files: atomic writes, picking the checkpoint a resume starts from, and the project stamp.

Every checkpoint a run writes carries ``checkpoint["musicrep"] = {"package": ..., "kind": ..., **facts}``
(:class:`StampCheckpoint`): the package that trained it, what kind of model it holds (the LightningModule's
``checkpoint_kind``, else its class name) and any facts the module's ``checkpoint_facts()`` returns (a trained
pitch range, say). :func:`load_checkpoint` reads a file back for a verb and refuses, in one line naming the path,
a folder, a missing or unreadable file, another package's checkpoint or a kind the verb cannot use.
"""

from __future__ import annotations

import logging
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.plugins.io import TorchCheckpointIO

from common.errors import InputError

log = logging.getLogger(__name__)

STAMP = "musicrep"

PREVIOUS = "last-previous.ckpt"


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes checkpoints to a temporary file and renames it, so a kill mid-write never leaves a torn
    ``last.ckpt`` behind; the ``last.ckpt`` it replaces is kept as ``last-previous.ckpt``. A failed write (disk
    full, folder gone) removes the temporary file and stops with one line naming the path."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options=None) -> None:
        path = Path(path)
        tmp = path.with_name(path.name + ".partial")
        try:
            super().save_checkpoint(checkpoint, tmp, storage_options)
            if path.name == "last.ckpt" and path.is_file():
                os.replace(path, path.with_name(PREVIOUS))
            os.replace(tmp, path)
        except OSError as err:
            tmp.unlink(missing_ok=True)
            raise InputError(f"{path}: could not write the checkpoint ({err.strerror or err}); free space on that "
                             "disk or set run.root to a folder with room") from err


def readable_checkpoint(path: Path) -> str | None:
    """Why ``path`` cannot be a checkpoint (missing, truncated, corrupt), or None when its archive is intact."""
    if not path.is_file():
        return "missing"
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (OSError, zipfile.BadZipFile) as err:
        return f"unreadable ({err})"
    return f"corrupt member {bad}" if bad else None


def resume_checkpoint(cfg: DictConfig, directory: Path) -> str | None:
    """The checkpoint ``ckpt_path`` names, checked before anything is created: for ``last``, ``last.ckpt`` or,
    when that is truncated or corrupt, ``last-previous.ckpt`` (with a one-line warning naming both); None when
    the run has no checkpoint yet (a fresh start)."""
    if cfg.ckpt_path is None:
        return None
    if cfg.ckpt_path != "last":
        path = Path(cfg.ckpt_path)
        if not path.is_file():
            raise InputError(f"ckpt_path={cfg.ckpt_path}: no such checkpoint; use ckpt_path=last to resume "
                             f"from {directory / 'checkpoints' / 'last.ckpt'}")
        problem = readable_checkpoint(path)
        if problem:
            raise InputError(f"ckpt_path={path}: {problem}; give another checkpoint")
        return str(path)
    last, previous = directory / "checkpoints" / "last.ckpt", directory / "checkpoints" / PREVIOUS
    if not last.exists() and not previous.exists():
        return None
    problem = readable_checkpoint(last)
    if problem is None:
        return str(last)
    fallback = readable_checkpoint(previous)
    if fallback is None:
        log.warning("%s is %s: resuming from the checkpoint before it, %s", last, problem, previous)
        return str(previous)
    raise InputError(f"{last} is {problem} and {previous} is {fallback}: nothing to resume from; start over with "
                     "ckpt_path=null (or another run.name)")


def checkpoint_kind(module: pl.LightningModule) -> str:
    return getattr(module, "checkpoint_kind", type(module).__name__)


class StampCheckpoint(Callback):
    """Writes the project stamp (``package``, the module's kind and ``checkpoint_facts()``) into every
    checkpoint."""

    def __init__(self, package: str):
        self.package = package

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict) -> None:
        facts = pl_module.checkpoint_facts() if hasattr(pl_module, "checkpoint_facts") else {}
        checkpoint[STAMP] = {"package": self.package, "kind": checkpoint_kind(pl_module), **facts}


def load_checkpoint(path: str | os.PathLike, package: str, kinds: Iterable[str] | None = None,
                    hint: str = "") -> dict[str, Any]:
    """The checkpoint dict at ``path`` (on the CPU), written by ``package``; ``kinds`` limits the model kinds a
    verb accepts. Every refusal is an :class:`InputError` naming ``path`` and ending with ``hint`` (how to get a
    good one, e.g. the train command)."""
    path = Path(path)
    hint = hint or f"train one with `python -m {package} train` or pass ckpt=path/to/last.ckpt"
    if path.is_dir():
        inside = next((p for p in (path / "checkpoints" / "last.ckpt", path / "last.ckpt") if p.is_file()), None)
        fix = f"pass the file {inside}" if inside else hint
        raise InputError(f"{path}: is a folder, not a checkpoint file; {fix}")
    if not path.is_file():
        raise InputError(f"{path}: no such checkpoint; {hint}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # noqa: BLE001 - truncated, corrupt or not a torch file: the same one line
        raise InputError(f"{path}: cannot be read as a checkpoint ({type(err).__name__}); {hint}") from None
    stamp = checkpoint.get(STAMP) if isinstance(checkpoint, dict) else None
    if not isinstance(stamp, dict):
        raise InputError(f"{path}: not a checkpoint written by this project's `{package} train` (no "
                         f"'{STAMP}' stamp); {hint}")
    if stamp.get("package") != package:
        raise InputError(f"{path}: a {stamp.get('package')} checkpoint ({stamp.get('kind')}), not a {package} "
                         f"one; {hint}")
    kinds = list(kinds or [])
    if kinds and stamp.get("kind") not in kinds:
        raise InputError(f"{path}: holds a {stamp.get('kind')} model, but this needs {' or '.join(kinds)}; {hint}")
    return checkpoint
