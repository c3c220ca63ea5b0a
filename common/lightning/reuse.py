"""Reusing a trained run: an evaluation that finds a run's ``last.ckpt`` checks that the run was trained with
the config it is now asked for, instead of silently scoring a model of another configuration."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from common.errors import ConfigError

TRAINING_KEYS = ("model", "optim", "run.seed", "trainer.max_steps", "trainer.gradient_clip_val",
                 "trainer.gradient_clip_algorithm")


def _leaves(node: Any, prefix: str) -> dict[str, Any]:
    if isinstance(node, dict):
        return {k: v for key, child in node.items() for k, v in _leaves(child, f"{prefix}.{key}").items()}
    return {prefix: node}


def _select(cfg: DictConfig, keys: Iterable[str]) -> dict[str, Any]:
    out = {}
    for key in keys:
        node = OmegaConf.select(cfg, key, default=None)
        value = OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node
        out.update(_leaves(value, key))
    return out


def changed_keys(saved: DictConfig, cfg: DictConfig, keys: Iterable[str] = TRAINING_KEYS,
                 ignore: Iterable[str] = ()) -> list[tuple[str, Any, Any]]:
    """(key, saved value, value in ``cfg``) for every leaf under ``keys`` and not under ``ignore`` that differs;
    keys the saved config does not have (it predates them) are not counted."""
    before, now, ignore = _select(saved, keys), _select(cfg, keys), tuple(ignore)
    return [(k, before[k], v) for k, v in now.items() if k in before and before[k] != v
            and not any(k == i or k.startswith(i + ".") for i in ignore)]


def check_reusable(directory: Path, cfg: DictConfig, keys: Iterable[str] = TRAINING_KEYS,
                   ignore: Iterable[str] = ()) -> None:
    """Raise a one-line ConfigError if the run in ``directory`` was trained with other values of ``keys`` (as
    recorded in its ``config.yaml``; leaves under ``ignore``, e.g. paths and loader workers, aside) than ``cfg``
    has. A run without ``config.yaml`` is taken as it is."""
    recorded = Path(directory) / "config.yaml"
    if not recorded.is_file():
        return
    changed = changed_keys(OmegaConf.load(recorded), cfg, keys, ignore)
    if changed:
        key, old, new = changed[0]
        more = f" (and {len(changed) - 1} more key(s))" if len(changed) > 1 else ""
        raise ConfigError(f"{directory} was trained with {key}={old}, this config has {new}{more}: give a new "
                          f"run.name=... to train and evaluate this config, or delete {directory} to retrain it")
