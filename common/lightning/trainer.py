"""The Trainer factory shared by every paper: loggers, checkpoints, DDP, seeding and resuming.

A run writes everything under ``<run.root>/<package>/<run.name>/``::

    config.yaml          the resolved config
    checkpoints/         last.ckpt (every ``trainer.checkpoint_every_n_steps`` and at the end) + best-*.ckpt
    csv/version_<n>/     CSVLogger metrics.csv, one version per launch
    wandb/, wandb_id     the W&B run (offline by default; ``wandb sync`` uploads it later)
    examples/            audio examples and spectrogram images written at validation
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import Callback, LearningRateMonitor, ModelCheckpoint, TQDMProgressBar
from pytorch_lightning.loggers import CSVLogger, Logger, WandbLogger
from pytorch_lightning.plugins.io import TorchCheckpointIO
from pytorch_lightning.strategies import DDPStrategy

from common.errors import ConfigError, InputError
from common.lightning.callbacks import ExampleLogger, NonFiniteLossGuard


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes checkpoints to a temporary file and renames it, so a kill mid-write never leaves a torn
    ``last.ckpt`` behind."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options=None) -> None:
        path = Path(path)
        tmp = path.with_name(path.name + ".partial")
        super().save_checkpoint(checkpoint, tmp, storage_options)
        os.replace(tmp, path)


def run_dir(cfg: DictConfig, package: str) -> Path:
    """``<run.root>/<package>/<run.name>``."""
    return Path(cfg.run.root) / package / cfg.run.name


def resolve_accelerator(accelerator: str) -> str:
    if accelerator == "auto":
        return "gpu" if torch.cuda.is_available() else "cpu"
    if accelerator not in ("cpu", "gpu", "cuda"):
        raise ConfigError(f"trainer.accelerator={accelerator!r} is not supported: use auto, cpu or gpu")
    return "gpu" if accelerator == "cuda" else accelerator


def trainer_kwargs(tcfg: DictConfig) -> dict[str, Any]:
    """Translate ``cfg.trainer`` into ``pl.Trainer`` keyword arguments (no callbacks or loggers).

    More than one process in all (``devices * num_nodes > 1``) selects DDP with NCCL on GPUs and gloo on
    CPUs. Multi-node runs are launched by torchrun or SLURM; Lightning detects either from the environment.
    """
    accelerator = resolve_accelerator(tcfg.accelerator)
    strategy: Any = tcfg.strategy
    if strategy == "auto" and tcfg.devices * tcfg.num_nodes > 1:
        strategy = "ddp"
    if strategy == "ddp":
        strategy = DDPStrategy(process_group_backend="nccl" if accelerator == "gpu" else "gloo",
                               find_unused_parameters=tcfg.find_unused_parameters)

    def count_or_fraction(value):
        if value is None:
            return None
        return int(value) if value > 1 else float(value)

    return dict(
        accelerator=accelerator,
        devices=tcfg.devices,
        num_nodes=tcfg.num_nodes,
        strategy=strategy,
        precision=tcfg.precision,
        max_steps=tcfg.max_steps,
        max_epochs=tcfg.max_epochs,
        val_check_interval=count_or_fraction(tcfg.val_check_interval),
        check_val_every_n_epoch=tcfg.check_val_every_n_epoch,
        limit_train_batches=count_or_fraction(tcfg.limit_train_batches),
        limit_val_batches=count_or_fraction(tcfg.limit_val_batches),
        num_sanity_val_steps=tcfg.num_sanity_val_steps,
        log_every_n_steps=tcfg.log_every_n_steps,
        gradient_clip_val=tcfg.gradient_clip_val,
        gradient_clip_algorithm=tcfg.gradient_clip_algorithm,
        accumulate_grad_batches=tcfg.accumulate_grad_batches,
        deterministic=tcfg.deterministic,
        enable_progress_bar=tcfg.progress_bar,
    )


def wandb_run_id(cfg: DictConfig, directory: Path) -> str:
    """The W&B run id: kept in ``<directory>/wandb_id`` so a resumed run continues the same W&B run."""
    stored = directory / "wandb_id"
    if cfg.ckpt_path is not None and stored.is_file():
        return stored.read_text().strip()
    return secrets.token_hex(4)


def build_loggers(cfg: DictConfig, directory: Path) -> list[Logger]:
    """A CSV logger always (``csv/version_<n>/metrics.csv``, a new version per launch, so resuming keeps the
    earlier rows); a W&B logger unless ``logger.wandb=false`` (offline unless told otherwise)."""
    loggers: list[Logger] = [CSVLogger(save_dir=str(directory), name="csv")]
    if cfg.logger.wandb:
        mode = cfg.logger.mode or os.environ.get("WANDB_MODE", "offline")
        loggers.append(WandbLogger(project=cfg.logger.project, name=cfg.run.name, save_dir=str(directory),
                                   mode=mode, id=wandb_run_id(cfg, directory), resume="allow",
                                   config=OmegaConf.to_container(cfg, resolve=True)))
    return loggers


def build_callbacks(cfg: DictConfig, directory: Path) -> list[Callback]:
    tcfg = cfg.trainer
    checkpoints = directory / "checkpoints"
    callbacks: list[Callback] = [
        NonFiniteLossGuard(),
        ModelCheckpoint(dirpath=checkpoints, save_last=True, save_top_k=0,
                        every_n_train_steps=tcfg.checkpoint_every_n_steps, enable_version_counter=False),
        LearningRateMonitor(logging_interval="step"),
    ]
    if tcfg.monitor:
        callbacks.append(ModelCheckpoint(dirpath=checkpoints, monitor=tcfg.monitor, mode=tcfg.monitor_mode,
                                         save_top_k=1, filename="best-{step}", auto_insert_metric_name=False,
                                         enable_version_counter=False))
    if tcfg.progress_bar:
        callbacks.append(TQDMProgressBar(refresh_rate=max(1, min(20, tcfg.log_every_n_steps))))
    if cfg.logger.examples_every_n_epochs > 0:
        callbacks.append(ExampleLogger(directory / "examples", every_n_epochs=cfg.logger.examples_every_n_epochs))
    return callbacks


def build_trainer(cfg: DictConfig, directory: Path, callbacks: list[Callback] = ()) -> pl.Trainer:
    """A ``pl.Trainer`` for ``cfg`` writing into ``directory`` (see the module docstring for the layout)."""
    directory.mkdir(parents=True, exist_ok=True)
    return pl.Trainer(
        **trainer_kwargs(cfg.trainer),
        logger=build_loggers(cfg, directory),
        callbacks=[*build_callbacks(cfg, directory), *callbacks],
        plugins=[AtomicCheckpointIO()],
        default_root_dir=str(directory),
    )


def fit(cfg: DictConfig, package: str, module: pl.LightningModule, datamodule: pl.LightningDataModule,
        callbacks: list[Callback] = ()) -> pl.Trainer:
    """Seed, build the trainer, save the resolved config and fit; ``ckpt_path=last`` resumes the run in
    place (same global step, optimizer and scheduler state), or starts fresh when it has no checkpoint."""
    directory = run_dir(cfg, package)
    if cfg.ckpt_path not in (None, "last") and not Path(cfg.ckpt_path).is_file():
        raise InputError(f"ckpt_path={cfg.ckpt_path}: no such checkpoint; use ckpt_path=last to resume "
                         f"from {directory / 'checkpoints' / 'last.ckpt'}")
    pl.seed_everything(cfg.run.seed, workers=True)
    trainer = build_trainer(cfg, directory, list(callbacks))
    if trainer.is_global_zero:
        OmegaConf.save(cfg, directory / "config.yaml")
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                (directory / "wandb_id").write_text(logger.version)
    trainer.fit(module, datamodule=datamodule, ckpt_path=cfg.ckpt_path)
    # Lightning skips the final last.ckpt when one was already written during the run (e.g. at step 20 of
    # 25): write it here, on every rank as save_checkpoint requires, so last.ckpt is the final state.
    if not trainer.interrupted:
        trainer.save_checkpoint(directory / "checkpoints" / "last.ckpt")
    return trainer
