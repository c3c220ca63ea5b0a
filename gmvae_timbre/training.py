"""Training runs of the shared Trainer, one run directory per model and thread setting ``t``::

    runs/gmvae_timbre/<run.name>/<gmvae|vae>-N<percent>-seed<k>-threads<t>     M_GMVAE / M_VAE
    runs/gmvae_timbre/<run.name>/cnn-instrument-N<percent>-seed<k>-threads<t>  instrument CNN (N % of labels)
    runs/gmvae_timbre/<run.name>/cnn-pitch-seed<k>-threads<t>                  pitch CNN

A finished run (``last.ckpt`` at ``trainer.max_steps``, or a CNN stopped early) is reused as it is;
``ckpt_path=last`` resumes one.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import Callback, EarlyStopping

from common.errors import InputError
from common.lightning import check_reusable, fit, run_dir
from common.lightning.checkpoint import load_checkpoint
from common.lightning.reuse import TRAINING_KEYS
from common.lightning.trainer import BestCheckpoint
from gmvae_timbre import data
from gmvae_timbre.config import MODEL_KINDS
from gmvae_timbre.module import NoteClassifier, TimbrePitchModule

log = logging.getLogger(__name__)

PACKAGE = "gmvae_timbre"
HINT = ("make the default one with `python -m gmvae_timbre eval` (or train one), or pass ckpt=path/to/last.ckpt of an "
        "M_GMVAE (model.kind=gmvae)")


def model_variant(kind: str, label_fraction: int, seed: int, threads: int) -> str:
    return f"{kind}-N{label_fraction}-seed{seed}-threads{threads}"


def classifier_variant(target: str, label_fraction: int, seed: int, threads: int) -> str:
    name = f"cnn-instrument-N{label_fraction}" if target == "instrument" else "cnn-pitch"
    return f"{name}-seed{seed}-threads{threads}"


def threads_of(cfg: DictConfig) -> int:
    """The torch thread count a run trains with (``threads``; 0: torch's default)."""
    return cfg.threads if cfg.threads > 0 else torch.get_num_threads()


# what a finished run must share with the config asking for it (paths and loader workers aside)
TRAINED_WITH = (*TRAINING_KEYS, "data")
UNTRAINED = ("data.root", "data.sol", "data.cache", "data.num_workers")


def sub_run(cfg: DictConfig, variant: str) -> DictConfig:
    out = cfg.copy()
    out.run.name = f"{cfg.run.name}/{variant}"
    return out


def last_checkpoint(cfg: DictConfig, variant: str) -> Path:
    return run_dir(sub_run(cfg, variant), PACKAGE) / "checkpoints" / "last.ckpt"


def default_checkpoint(cfg: DictConfig) -> Path:
    """The model the verbs use without ``ckpt=``: the eval's M_GMVAE with every label, its first seed, trained under
    its first thread setting."""
    return last_checkpoint(cfg, model_variant("gmvae", 100, cfg.eval.seeds[0], cfg.eval.threads[0]))


def callback_states(checkpoint: dict, callback: type[Callback]) -> list[dict]:
    """The states a loaded checkpoint holds for callbacks of class ``callback`` (Lightning keys each by the class's
    qualified name followed by its settings)."""
    return [state for key, state in checkpoint.get("callbacks", {}).items() if key.startswith(callback.__qualname__)]


def stopped_at(path: Path) -> tuple[int, bool]:
    """(global step, whether early stopping ended the run) of the checkpoint ``path``."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    stops = callback_states(checkpoint, EarlyStopping)
    return checkpoint.get("global_step", -1), any(s["wait_count"] >= s["patience"] for s in stops)


def _finished(path: Path, max_steps: int) -> bool:
    if not path.is_file():
        return False
    step, stopped = stopped_at(path)
    return stopped or step >= max_steps


def _fit(cfg: DictConfig, variant: str, module: pl.LightningModule, notes: data.SolNotes,
         callbacks: list[Callback] = ()) -> Path:
    path = last_checkpoint(cfg, variant)
    if cfg.ckpt_path is None and _finished(path, cfg.trainer.max_steps):
        check_reusable(path.parents[1], sub_run(cfg, variant), TRAINED_WITH, ignore=UNTRAINED)
        log.info("reusing %s", path)
        return path
    log.info("training %s -> %s", variant, path.parent.parent)
    fit(sub_run(cfg, variant), PACKAGE, module, data.SolDataModule(notes, cfg.data, cfg.run.seed), callbacks)
    return path


def check_model(cfg: DictConfig) -> None:
    if cfg.model.kind not in MODEL_KINDS:
        raise InputError(f"model.kind={cfg.model.kind!r} is unknown; use one of {', '.join(MODEL_KINDS)}")


def train_model(cfg: DictConfig, kind: str | None = None, label_fraction: int | None = None,
                seed: int | None = None, notes: data.SolNotes | None = None) -> Path:
    """Fit M_GMVAE or M_VAE (default: ``model.kind``, ``data.label_fraction``, ``run.seed``); returns last.ckpt."""
    cfg = cfg.copy()
    cfg.model.kind = kind or cfg.model.kind
    cfg.data.label_fraction = cfg.data.label_fraction if label_fraction is None else label_fraction
    cfg.run.seed = cfg.run.seed if seed is None else seed
    check_model(cfg)
    notes = notes or data.load_notes(cfg, cfg.data.label_fraction)
    pl.seed_everything(cfg.run.seed, workers=True)  # the initial weights depend only on run.seed
    module = TimbrePitchModule(pitches=notes.pitches, instruments=notes.instruments, ranges=notes.ranges(),
                               features=data.feature_settings(cfg.data), log_min=notes.log_min,
                               log_max=notes.log_max, model=OmegaConf.to_container(cfg.model),
                               optim=OmegaConf.to_container(cfg.optim), label_fraction=cfg.data.label_fraction)
    variant = model_variant(cfg.model.kind, cfg.data.label_fraction, cfg.run.seed, threads_of(cfg))
    return _fit(cfg, variant, module, notes)


def train_classifier(cfg: DictConfig, target: str, label_fraction: int, seed: int, max_steps: int,
                     notes: data.SolNotes | None = None, patience: int = 0, val_every: int = 100) -> Path:
    """Fit the CNN baseline for ``target`` ("instrument" with ``label_fraction`` % of labels, or "pitch"). With
    ``patience`` > 0 it trains to convergence: it stops once the validation loss, checked every ``val_every``
    steps, has not fallen for ``patience`` checks in a row (at ``max_steps`` at the latest), and the checkpoint
    returned is the one of the lowest validation loss (``best-<step>.ckpt``; ``last.ckpt`` without a monitor)."""
    cfg = cfg.copy()
    cfg.run.seed, cfg.trainer.max_steps, cfg.data.label_fraction = seed, max_steps, label_fraction
    cfg.logger.examples_every_n_epochs = 0
    callbacks = []
    if patience > 0:  # validation and the best checkpoint, which eval turns off for its other models
        cfg.trainer.val_check_interval, cfg.trainer.check_val_every_n_epoch = float(val_every), None
        cfg.trainer.limit_val_batches, cfg.trainer.monitor = 1.0, "val/loss"
        callbacks.append(EarlyStopping("val/loss", patience=patience, mode="min"))
    notes = notes or data.load_notes(cfg, label_fraction)
    pl.seed_everything(seed, workers=True)
    classes = len(notes.instruments) if target == "instrument" else len(notes.pitches)
    module = NoteClassifier(target=target, classes=classes, features=data.feature_settings(cfg.data),
                            model=OmegaConf.to_container(cfg.model), optim=OmegaConf.to_container(cfg.optim),
                            label_fraction=label_fraction, log_min=notes.log_min, log_max=notes.log_max)
    last = _fit(cfg, classifier_variant(target, label_fraction, seed, threads_of(cfg)), module, notes, callbacks)
    return lowest_validation_loss(last) if patience > 0 else last


def lowest_validation_loss(last: Path) -> Path:
    """The checkpoint of the lowest validation loss that the run of ``last`` recorded (its ``best-<step>.ckpt``,
    named by the run's own best-checkpoint state, not by whatever lies in the folder), else ``last``."""
    states = callback_states(torch.load(last, map_location="cpu", weights_only=False), BestCheckpoint)
    recorded = [Path(s["best_model_path"]).name for s in states if s.get("best_model_path")]
    return last.parent / recorded[0] if recorded and (last.parent / recorded[0]).is_file() else last


def load_model(path: str | Path, kinds: tuple[str, ...] = ("M_GMVAE", "M_VAE")) -> TimbrePitchModule:
    """A trained M_GMVAE / M_VAE checkpoint of ``kinds`` in eval mode; anything else is a one-line ``InputError``
    naming the path."""
    checkpoint = load_checkpoint(path, PACKAGE, kinds, hint=HINT)
    module = TimbrePitchModule(**checkpoint["hyper_parameters"])
    module.load_state_dict(checkpoint["state_dict"])
    return module.eval()


def load_classifier(path: str | Path) -> NoteClassifier:
    checkpoint = load_checkpoint(path, PACKAGE, ("cnn",), hint=HINT)
    module = NoteClassifier(**checkpoint["hyper_parameters"])
    module.load_state_dict(checkpoint["state_dict"])
    return module.eval()
