"""Typed run configuration: omegaconf structured configs, YAML presets shipped as package data, and
``key=value`` overrides.

Every paper's schema is a dataclass deriving from :class:`BaseConfig` (sections ``run``, ``trainer``,
``logger`` and the top-level ``ckpt``, ``ckpt_path``) plus its own ``data``/``model``/``optim``/... sections
(:func:`paper_config`). A preset is ``<package>/configs/<name>.yaml`` or a path to a YAML file; a preset may
start with ``extends: <other preset>`` to inherit from another and change only a few keys.
"""

from __future__ import annotations

import importlib.resources
import logging
from dataclasses import dataclass, field, make_dataclass
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import (
    ConfigAttributeError,
    ConfigKeyError,
    ConfigTypeError,
    MissingMandatoryValue,
    OmegaConfBaseException,
    ValidationError,
)

from common.errors import ConfigError


@dataclass
class RunConfig:
    """Where a run lives and how it is seeded: ``<root>/<package>/<name>``."""

    name: str = "default"
    root: str = "runs"
    seed: int = 0


@dataclass
class TrainerConfig:
    """The subset of ``pytorch_lightning.Trainer`` arguments a run may set.

    ``devices * num_nodes > 1`` selects DDP (gloo on CPU, NCCL on GPU). Fractions such as
    ``val_check_interval`` and ``limit_*_batches`` follow Lightning: a value <= 1.0 is a fraction of an
    epoch, a larger whole number is a count of batches.
    """

    accelerator: str = "auto"  # auto | cpu | gpu
    devices: int = 1
    num_nodes: int = 1
    strategy: str = "auto"  # auto -> ddp when devices * num_nodes > 1
    find_unused_parameters: bool = False
    precision: str = "32-true"
    max_steps: int = -1
    max_epochs: int | None = None
    val_check_interval: float | None = None
    check_val_every_n_epoch: int | None = 1
    limit_train_batches: float | None = None
    limit_val_batches: float | None = None
    num_sanity_val_steps: int = 2
    log_every_n_steps: int = 50
    gradient_clip_val: float | None = None
    gradient_clip_algorithm: str = "norm"  # norm | value
    accumulate_grad_batches: int = 1
    checkpoint_every_n_steps: int = 1000
    monitor: str | None = "val/loss"  # metric for the best checkpoint; null keeps only last.ckpt
    monitor_mode: str = "min"
    deterministic: bool = False
    progress_bar: bool = True
    sync_batchnorm: bool | None = None  # null: on when devices * num_nodes > 1, so every rank holds the same stats


@dataclass
class LoggerConfig:
    """W&B (offline unless ``mode`` or ``WANDB_MODE`` says otherwise) plus an always-on CSV logger."""

    wandb: bool = True
    project: str = "musicrep"
    mode: str | None = None  # offline | online | disabled; null -> $WANDB_MODE or offline
    examples_every_n_epochs: int = 1  # audio examples + spectrogram images at validation; 0 = never


@dataclass
class BaseConfig:
    run: RunConfig = field(default_factory=RunConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    ckpt: str | None = None  # the trained checkpoint the verbs use (default: this run's, else the eval's model)
    ckpt_path: str | None = None  # null | last | path/to.ckpt: resume training from there
    threads: int = 0  # torch intra-op CPU threads for the verb (0: torch's default, one per core)
    log_level: str = "warning"  # Lightning's and W&B's messages: warning (quiet) | info (`-v`) | debug


def paper_config(name: str, module: str, **sections: type) -> type:
    """A paper's root config class ``name`` (defined in ``module``): :class:`BaseConfig`'s shared keys and one
    key per section dataclass, built with its defaults, in the order given.

    ``DaVaeConfig = paper_config("DaVaeConfig", __name__, data=DataConfig, model=ModelConfig, ...)``
    """
    return make_dataclass(name, [(key, kind, field(default_factory=kind)) for key, kind in sections.items()],
                          bases=(BaseConfig,), namespace={"__module__": module})


def preset_path(package: str, preset: str) -> Path:
    """Resolve ``preset`` (a name under ``<package>/configs`` or a YAML path) to a file."""
    candidate = Path(preset)
    if candidate.suffix in (".yaml", ".yml"):
        if not candidate.is_file():
            raise ConfigError(f"config file {preset} does not exist")
        return candidate
    path = Path(str(importlib.resources.files(package) / "configs" / f"{preset}.yaml"))
    if not path.is_file():
        available = sorted(p.stem for p in path.parent.glob("*.yaml"))
        raise ConfigError(f"unknown config preset '{preset}' for {package}; choose one of {available} "
                          "or pass a path to a .yaml file")
    return path


def _read_preset(package: str, preset: str, seen: tuple[Path, ...] = ()) -> list[tuple[str, dict]]:
    """The preset's YAML layers, base first, each with the file it came from."""
    path = preset_path(package, preset)
    if path in seen:
        raise ConfigError(f"config {path} extends itself through {[str(p) for p in seen]}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"config {path} is not valid YAML: {str(err).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config {path} must be a mapping of keys to values")
    base = data.pop("extends", None)
    layers = _read_preset(package, base, (*seen, path)) if base else []
    return [*layers, (str(path), data)]


def _describe(err: OmegaConfBaseException, source: str) -> str:
    key = getattr(err, "full_key", None) or "?"
    if isinstance(err, (ConfigKeyError, ConfigAttributeError)):
        parent = key.rsplit(".", 1)[0] if "." in key else ""
        return f"unknown config key '{key}' (in {source}); check the spelling" + (
            f" or see the keys under '{parent}'" if parent else "") + " with the `config` verb"
    if isinstance(err, (ValidationError, ConfigTypeError)):
        detail = str(err).splitlines()[0]
        return f"bad value for config key '{key}' (in {source}): {detail}"
    if isinstance(err, MissingMandatoryValue):
        return f"config key '{key}' has no value; set it with {key}=..."
    return f"invalid config (in {source}): {str(err).splitlines()[0]}"


def _merge(cfg: DictConfig, layer: Any, source: str) -> DictConfig:
    try:
        return OmegaConf.merge(cfg, layer)
    except OmegaConfBaseException as err:
        raise ConfigError(_describe(err, source)) from None


def load_config(schema: type, package: str, preset: str = "default",
                overrides: list[str] | tuple[str, ...] = ()) -> DictConfig:
    """Build a typed config: ``schema`` defaults < preset YAML (with ``extends``) < ``key=value`` overrides.

    Raises :class:`ConfigError` naming the offending key (unknown, wrong type, missing) and its source.
    """
    cfg = OmegaConf.structured(schema)
    for source, data in _read_preset(package, preset):
        cfg = _merge(cfg, data, source)
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override '{item}' is not of the form key=value")
        try:
            layer = OmegaConf.from_dotlist([item])
        except OmegaConfBaseException as err:
            raise ConfigError(f"cannot parse override '{item}': {str(err).splitlines()[0]}") from None
        cfg = _merge(cfg, layer, f"override {item}")
    missing = sorted(OmegaConf.missing_keys(cfg))
    if missing:
        raise ConfigError(f"config key '{missing[0]}' has no value; set it with {missing[0]}=...")
    OmegaConf.set_struct(cfg, True)
    return cfg


def eval_training_logs(cfg: DictConfig) -> None:
    """The models an ``eval`` verb trains log to W&B only when ``eval.wandb`` (where a paper has that key) is
    true: off for speed, said once; and they render no audio or image examples at validation (nothing reads
    them; WaveNet generation and spectrogram plots cost up to a sixth of a small model's training). ``train``
    always logs both."""
    if cfg.logger.wandb and not OmegaConf.select(cfg, "eval.wandb", default=False):
        logging.getLogger(__name__).info("eval: W&B logging is off for the models eval trains, for speed (`train` "
                                         "logs to W&B; the CSV logger still records every run)")
        cfg.logger.wandb = False
    cfg.logger.examples_every_n_epochs = 0
