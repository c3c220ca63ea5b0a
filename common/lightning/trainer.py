"""The Trainer factory shared by every paper: loggers, checkpoints, DDP, seeding and resuming.

A run writes everything under ``<run.root>/<package>/<run.name>/``::

    config.yaml          the resolved config
    checkpoints/         last.ckpt (every ``trainer.checkpoint_every_n_steps`` and at the end) + best-*.ckpt
    csv/version_<n>/     CSVLogger metrics.csv, one version per launch
    wandb/, wandb_id     the W&B run (offline by default; ``wandb sync`` uploads it later)
    examples/            audio examples and spectrogram images written at validation
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import Callback, LearningRateMonitor, ModelCheckpoint, TQDMProgressBar
from pytorch_lightning.loggers import CSVLogger, Logger, WandbLogger
from pytorch_lightning.strategies import DDPStrategy
from pytorch_lightning.utilities import rank_zero_only

from common.errors import ConfigError, InputError
from common.lightning import resume
from common.lightning.callbacks import AverageBatchNormStats, ExampleLogger, NonFiniteLossGuard
from common.lightning.checkpoint import AtomicCheckpointIO, StampCheckpoint, resume_checkpoint
from common.lightning.dryrun import probes
from common.lightning.verbosity import is_verbose

log = logging.getLogger(__name__)


def check_writable(directory: Path) -> None:
    """A run folder that cannot be written is one line naming it, before training starts."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise InputError(f"{directory}: cannot write the run folder ({err.strerror or err}); set run.root to a "
                         "writable folder") from err


class BestCheckpoint(ModelCheckpoint):
    """The best checkpoint by ``trainer.monitor``, judged after each validation (where the key is logged);
    a monitored key that validation never logs is a one-line error instead of a warning on every save."""

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.sanity_checking and self.monitor not in trainer.callback_metrics:
            logged = sorted(k for k in trainer.callback_metrics if k.startswith("val"))
            raise ConfigError(f"trainer.monitor={self.monitor!r} is not logged by validation (it logs {logged}); "
                              "set trainer.monitor to one of those, or trainer.monitor=null to keep only last.ckpt")
        super().on_validation_end(trainer, pl_module)


def run_dir(cfg: DictConfig, package: str) -> Path:
    """``<run.root>/<package>/<run.name>``."""
    return Path(cfg.run.root) / package / cfg.run.name


def resolve_accelerator(accelerator: str) -> str:
    if accelerator == "auto":
        return "gpu" if torch.cuda.is_available() else "cpu"
    if accelerator not in ("cpu", "gpu", "cuda"):
        raise ConfigError(f"trainer.accelerator={accelerator!r} is not supported: use auto, cpu or gpu")
    return "gpu" if accelerator == "cuda" else accelerator


def check_devices(tcfg: DictConfig) -> None:
    """GPUs asked for but not there: one line saying how many were asked for and seen, before anything starts."""
    if resolve_accelerator(tcfg.accelerator) != "gpu":
        return
    seen = torch.cuda.device_count()
    if seen < tcfg.devices:
        raise ConfigError(f"trainer.devices={tcfg.devices} GPU(s) asked for (GPUS={tcfg.devices}) with "
                          f"trainer.accelerator={tcfg.accelerator}, but torch sees {seen} CUDA device(s); use GPUS=0 "
                          "(trainer.accelerator=cpu) to train on the CPU")


def batchnorm_sync(tcfg: DictConfig) -> str | None:
    """How batch-norm statistics agree across DDP ranks (``trainer.sync_batchnorm``, null: on under DDP):
    ``"sync"`` (torch's SyncBatchNorm, which needs CUDA), ``"average"`` (on CPU: running statistics averaged
    over the ranks after every step, :class:`AverageBatchNormStats`) or None (one process, or switched off)."""
    wanted = tcfg.devices * tcfg.num_nodes > 1 if tcfg.sync_batchnorm is None else tcfg.sync_batchnorm
    if not wanted:
        return None
    return "sync" if resolve_accelerator(tcfg.accelerator) == "gpu" else "average"


def trainer_kwargs(tcfg: DictConfig) -> dict[str, Any]:
    """Translate ``cfg.trainer`` into ``pl.Trainer`` keyword arguments (no callbacks or loggers).

    More than one process in all (``devices * num_nodes > 1``) selects DDP with NCCL on GPUs and gloo on
    CPUs, and synchronised batch norm (see :func:`batchnorm_sync`). Multi-node runs are launched by
    torchrun or SLURM; Lightning detects either from the environment.
    """
    accelerator = resolve_accelerator(tcfg.accelerator)
    strategy: Any = tcfg.strategy
    distributed = tcfg.devices * tcfg.num_nodes > 1
    if strategy == "auto" and distributed:
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
        sync_batchnorm=batchnorm_sync(tcfg) == "sync",
    )


def wandb_run_id(cfg: DictConfig, directory: Path) -> str:
    """The W&B run id: kept in ``<directory>/wandb_id`` so a resumed run continues the same W&B run."""
    stored = directory / "wandb_id"
    if cfg.ckpt_path is not None and stored.is_file():
        return stored.read_text().strip()
    return secrets.token_hex(4)


def wandb_mode(cfg: DictConfig) -> str:
    """``logger.mode``, else $WANDB_MODE, else offline."""
    return cfg.logger.mode or os.environ.get("WANDB_MODE", "offline")


def build_loggers(cfg: DictConfig, directory: Path) -> list[Logger]:
    """A CSV logger always (``csv/version_<n>/metrics.csv``, a new version per launch, so resuming keeps the
    earlier rows); a W&B logger unless ``logger.wandb=false`` (offline unless told otherwise)."""
    loggers: list[Logger] = [CSVLogger(save_dir=str(directory), name="csv")]
    if cfg.logger.wandb:
        # W&B's process-wide settings come from the environment, not from init(mode=...): without WANDB_MODE its
        # telemetry exporter asks the W&B server (a DNS query, then HTTPS) even for an offline run
        os.environ["WANDB_MODE"] = wandb_mode(cfg)
        wandb = WandbLogger(project=cfg.logger.project, name=cfg.run.name, save_dir=str(directory),
                            mode=wandb_mode(cfg), id=wandb_run_id(cfg, directory), resume="allow",
                            config=OmegaConf.to_container(cfg, resolve=True))
        # Lightning passes anonymous=None, which W&B answers with a warning that it has no effect
        getattr(wandb, "_wandb_init", {}).pop("anonymous", None)
        loggers.append(wandb)
    return loggers


def build_callbacks(cfg: DictConfig, directory: Path) -> list[Callback]:
    tcfg = cfg.trainer
    checkpoints = directory / "checkpoints"
    callbacks: list[Callback] = [
        NonFiniteLossGuard(),
        resume.RandomState(),
        resume.FinalStepCheckpoint(checkpoints / "last.ckpt"),
        resume.PeriodicCheckpoint(dirpath=checkpoints, save_last=True, save_top_k=0,
                                  every_n_train_steps=tcfg.checkpoint_every_n_steps, enable_version_counter=False),
        LearningRateMonitor(logging_interval="step"),
    ]
    if batchnorm_sync(tcfg) == "average":
        callbacks.append(AverageBatchNormStats())
    if tcfg.monitor:
        callbacks.append(BestCheckpoint(dirpath=checkpoints, monitor=tcfg.monitor, mode=tcfg.monitor_mode,
                                        save_top_k=1, filename="best-{step}", auto_insert_metric_name=False,
                                        enable_version_counter=False, save_on_train_epoch_end=False))
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
        enable_model_summary=is_verbose(cfg.log_level),
    )


def fit(cfg: DictConfig, package: str, module: pl.LightningModule, datamodule: pl.LightningDataModule,
        callbacks: list[Callback] = ()) -> pl.Trainer:
    """Seed, build the trainer, save the resolved config and fit; ``ckpt_path=last`` resumes the run in
    place (same global step, optimizer, scheduler, random and data-loader state), or starts fresh when it has
    no checkpoint. On resume, rows the earlier launch logged after the checkpoint are superseded: dropped from
    its CSV, and (offline W&B) the run's history is rebuilt from the CSV into this launch's W&B run, whose
    earlier offline runs move to ``wandb/superseded/``."""
    directory = run_dir(cfg, package)
    ckpt_path = resume_checkpoint(cfg, directory)
    check_devices(cfg.trainer)
    check_writable(directory)
    replay_rows = None
    if ckpt_path is not None and rank_zero_only.rank == 0:
        # what the earlier launch logged after this checkpoint is logged again by this launch: supersede it
        rows = resume.supersede_csv(directory, resume.checkpoint_step(ckpt_path))
        if cfg.logger.wandb and wandb_mode(cfg) == "offline":
            resume.supersede_wandb(directory)
            replay_rows = rows
    pl.seed_everything(cfg.run.seed, workers=True, verbose=is_verbose(cfg.log_level))
    trainer = build_trainer(cfg, directory, [StampCheckpoint(package), *probes(), *callbacks])
    if replay_rows:
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                resume.replay(logger, replay_rows)
    if trainer.is_global_zero:
        OmegaConf.save(cfg, directory / "config.yaml")
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                (directory / "wandb_id").write_text(logger.version)
    trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    # A run that ends on max_epochs has no final-step checkpoint yet: write last.ckpt here, on every rank as
    # save_checkpoint requires (decided from callback state every rank shares, never from files one node sees).
    final = next(c for c in trainer.callbacks if isinstance(c, resume.FinalStepCheckpoint))
    if not trainer.interrupted and final.saved_step != trainer.global_step:
        trainer.save_checkpoint(directory / "checkpoints" / "last.ckpt")
    # close the W&B run now, so its history is complete on disk when fit returns (not left to W&B's service
    # to flush after the process has gone)
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger) and trainer.is_global_zero and logger._experiment is not None:
            logger.experiment.finish()
    return trainer
