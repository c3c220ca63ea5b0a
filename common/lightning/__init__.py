"""Shared Lightning plumbing: typed configs, the ``python -m <package>`` CLI, the Trainer factory and
callbacks. See :mod:`common.lightning.trainer` for the layout of a run directory."""

from common.lightning.callbacks import ExampleLogger, NonFiniteLossError, NonFiniteLossGuard
from common.lightning.cli import Verb, main
from common.lightning.config import BaseConfig, LoggerConfig, RunConfig, TrainerConfig, load_config
from common.lightning.trainer import build_trainer, fit, run_dir, trainer_kwargs

__all__ = [
    "BaseConfig", "ExampleLogger", "LoggerConfig", "NonFiniteLossError", "NonFiniteLossGuard", "RunConfig",
    "TrainerConfig", "Verb", "build_trainer", "fit", "load_config", "main", "run_dir", "trainer_kwargs",
]
