"""Training one model as a run of the shared Trainer: ``runs/realtime_ae/<run.name>``; ``ckpt_path=last``
resumes it, and a finished run is then a no-op."""

from __future__ import annotations

import logging
from pathlib import Path

import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf

from common.errors import InputError
from common.lightning import check_reusable, fit, run_dir
from common.lightning.reuse import TRAINING_KEYS
from realtime_ae import data
from realtime_ae.config import ACTIVATIONS, AUGMENTATIONS
from realtime_ae.models import INITS
from realtime_ae.module import FrameAutoencoder, example_from

log = logging.getLogger(__name__)

PACKAGE = "realtime_ae"


def check_model(cfg: DictConfig) -> None:
    m = cfg.model
    if m.activation not in ACTIVATIONS:
        raise InputError(f"model.activation={m.activation!r}: use one of {', '.join(ACTIVATIONS)}")
    if m.augmentation not in AUGMENTATIONS:
        raise InputError(f"model.augmentation={m.augmentation!r}: use one of {', '.join(AUGMENTATIONS)}")
    if m.init not in INITS:
        raise InputError(f"model.init={m.init!r}: use one of {', '.join(INITS)}")
    if m.bottleneck < 1 or not m.hidden or min(m.hidden) < 1:
        raise InputError(f"model.bottleneck={m.bottleneck} and model.hidden={list(m.hidden)} must be positive")


def last_checkpoint(cfg: DictConfig) -> Path:
    return run_dir(cfg, PACKAGE) / "checkpoints" / "last.ckpt"


# what a trained run must share with the config asking for it (paths and loader workers aside)
TRAINED_WITH = (*TRAINING_KEYS, "trainer.max_epochs", "threads", "data")
UNTRAINED = ("data.root", "data.cache", "data.num_workers")


def trained_checkpoint(cfg: DictConfig) -> Path | None:
    """This run's ``last.ckpt`` if it exists and was trained with the same config (a one-line error if not),
    else None."""
    path = last_checkpoint(cfg)
    if not path.is_file():
        return None
    check_reusable(run_dir(cfg, PACKAGE), cfg, TRAINED_WITH, ignore=UNTRAINED)
    return path


def build_module(cfg: DictConfig, corpus: data.PreparedCorpus) -> FrameAutoencoder:
    d = cfg.data
    return FrameAutoencoder(bins=corpus.bins, model=OmegaConf.to_container(cfg.model),
                            optim=OmegaConf.to_container(cfg.optim),
                            features={"sample_rate": d.sample_rate, "n_fft": d.n_fft, "hop_length": d.hop_length})


def train(cfg: DictConfig) -> Path:
    """Prepare ``data.corpus`` and fit ``cfg.model`` on its train split; returns ``last.ckpt``."""
    check_model(cfg)
    corpus = data.PreparedCorpus(data.prepare(cfg))
    pl.seed_everything(cfg.run.seed, workers=True)  # the initial weights depend only on run.seed
    module = build_module(cfg, corpus)
    if cfg.logger.examples_every_n_epochs > 0:
        module.example = example_from(corpus, corpus.split_clips("val")[0])
    log.info("training %s on %s -> %s", cfg.run.name, cfg.data.corpus, run_dir(cfg, PACKAGE))
    fit(cfg, PACKAGE, module, data.FrameDataModule(corpus, cfg.data.batch_size))
    return last_checkpoint(cfg)
