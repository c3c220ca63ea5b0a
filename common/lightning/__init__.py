"""Shared Lightning plumbing: typed configs, the ``python -m <package>`` CLI, the Trainer factory and
callbacks. See :mod:`common.lightning.trainer` for the layout of a run directory.

Names are imported on first use, so a package's ``--help``, ``config`` and argument errors never pay for
importing Lightning, torch or W&B."""

from __future__ import annotations

import importlib

_EXPORTS = {
    "ExampleLogger": "callbacks", "NonFiniteLossError": "callbacks", "NonFiniteLossGuard": "callbacks",
    "Verb": "cli", "main": "cli",
    "BaseConfig": "config", "LoggerConfig": "config", "RunConfig": "config", "TrainerConfig": "config",
    "load_config": "config", "paper_config": "config",
    "check_reusable": "reuse",
    "build_trainer": "trainer", "fit": "trainer", "run_dir": "trainer", "trainer_kwargs": "trainer",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'common.lightning' has no attribute {name!r}")
    return getattr(importlib.import_module(f"common.lightning.{_EXPORTS[name]}"), name)
