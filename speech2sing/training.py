"""Training a Table 1 system as a run of the shared Trainer: ``runs/speech2sing/<run.name>/<system>[-seed<k>]``
(resumes from its own ``last.ckpt`` with ``ckpt_path=last``)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf

from common.errors import InputError
from common.lightning import fit, run_dir
from speech2sing import data
from speech2sing.config import SYSTEMS
from speech2sing.module import PACKAGE, Speech2SingModule

log = logging.getLogger(__name__)



def system_switches(cfg: DictConfig, name: str | None = None) -> dict:
    """The switches of system ``name`` (default ``cfg.system``), with P-MTL's lambda from ``optim.mtl_lambda``."""
    name = name or cfg.system
    if name not in SYSTEMS:
        raise InputError(f"system={name!r} is unknown; use one of {', '.join(SYSTEMS)}")
    switches = dict(SYSTEMS[name])
    if switches["mtl_lambda"] is None:
        switches["mtl_lambda"] = float(cfg.optim.mtl_lambda)
    return switches


def with_system(cfg: DictConfig, name: str, seed: int, threads: int | None = None) -> DictConfig:
    """A copy of ``cfg`` with ``system = name``, ``run.seed = seed`` and (if given) ``threads``."""
    out = cfg.copy()
    out.system, out.run.seed = name, seed
    if threads is not None:
        out.threads = threads
    return out


def sub_run(cfg: DictConfig) -> DictConfig:
    """A copy of ``cfg`` whose ``run.name`` is the sub-run ``<run.name>/<system>[-seed<k>][-threads<n>]``: runs
    trained on two or more torch threads (another float summation order) are kept apart from one-thread ones."""
    out = cfg.copy()
    out.run.name = (f"{cfg.run.name}/{cfg.system}" + (f"-seed{cfg.run.seed}" if cfg.run.seed else "")
                    + (f"-threads{cfg.threads}" if cfg.threads > 1 else ""))
    return out


def last_checkpoint(cfg: DictConfig) -> Path:
    """``last.ckpt`` of ``cfg.system`` trained with ``cfg.run.seed``."""
    return run_dir(sub_run(cfg), PACKAGE) / "checkpoints" / "last.ckpt"


def features(cfg: DictConfig) -> dict:
    keys = ("sample_rate", "n_fft", "hop_length", "silence_db", "silence_run", "pitch_image")
    return {k: cfg.data[k] for k in keys}


def pitch_range(samples: list[data.Sample]) -> tuple[float, float]:
    """The lowest and highest voiced F0 (Hz) of ``samples``' melodies."""
    voiced = np.concatenate([s.f0[s.f0 > 0] for s in samples])
    return float(voiced.min()), float(voiced.max())


def train(cfg: DictConfig) -> Path:
    """Fit ``cfg.system`` with seed ``cfg.run.seed``; returns its ``last.ckpt``."""
    switches = system_switches(cfg)
    sub = sub_run(cfg)
    trained_range = pitch_range(data.samples(cfg, switches["align"])["train"])
    pl.seed_everything(cfg.run.seed, workers=True)  # the initial weights depend only on run.seed
    module = Speech2SingModule(system_name=cfg.system, system=switches, model=OmegaConf.to_container(cfg.model),
                               optim=OmegaConf.to_container(cfg.optim), features=features(cfg),
                               pitch_range_hz=trained_range)
    log.info("training %s -> %s", cfg.system, run_dir(sub, PACKAGE))
    fit(sub, PACKAGE, module, data.PairDataModule(cfg, switches["align"], switches["source"]))
    return last_checkpoint(cfg)
