"""``train`` and ``add-domain``: build the module and data, then fit through ``common.lightning.fit``."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf

from common.errors import InputError
from common.lightning import check_reusable, fit, run_dir
from common.lightning.checkpoint import load_checkpoint
from common.lightning.reuse import TRAINING_KEYS
from music_translation import data
from music_translation.inference import load_module
from music_translation.module import TranslationModule

PACKAGE = "music_translation"


def section(cfg: DictConfig, name: str) -> dict:
    return OmegaConf.to_container(cfg[name], resolve=True)


def checkpoint_path(cfg: DictConfig) -> Path:
    """``ckpt=`` if given, else this run's ``last.ckpt``."""
    return Path(cfg.ckpt) if cfg.ckpt else run_dir(cfg, PACKAGE) / "checkpoints" / "last.ckpt"


# what a trained run must share with the config asking for it (``reuse_or_train``)
TRAINED_WITH = (*TRAINING_KEYS, "augment", "data.domains", "data.sample_rate", "data.segment_seconds",
                "data.batch_size", "threads")  # threads: the float summation order differs with them


def trained_checkpoint(cfg: DictConfig) -> Path | None:
    """``ckpt=`` as given, else this run's ``last.ckpt`` if there is one (checked to come from the same training
    config: a one-line error if not), else None."""
    path = checkpoint_path(cfg)
    if cfg.ckpt:
        return path
    if not path.is_file():
        return None
    check_reusable(run_dir(cfg, PACKAGE), cfg, TRAINED_WITH)
    return path


def reuse_or_train(cfg: DictConfig) -> Path:
    """The checkpoint of ``cfg``: trained first if this run has none, resumed if a killed run left it short of
    ``trainer.max_steps``."""
    path = trained_checkpoint(cfg)
    if path is not None and (cfg.ckpt or load_checkpoint(path, PACKAGE)["global_step"] >= cfg.trainer.max_steps):
        return path
    if path is not None:
        cfg = cfg.copy()
        cfg.ckpt_path = "last"
    return train(cfg)


def check_model(cfg: DictConfig) -> None:
    m, rate = cfg.model, cfg.data.sample_rate
    if data.segment_samples(cfg) < m.pool:
        raise InputError(f"data.segment_seconds={cfg.data.segment_seconds} is shorter than one latent frame "
                         f"(model.pool={m.pool} samples at {rate} Hz)")
    a, seconds = cfg.augment, data.segment_samples(cfg) / rate
    if a.enabled and a.max_seconds >= seconds:
        raise InputError(f"augment.max_seconds={a.max_seconds} covers the whole {seconds:g} s training segment "
                         "(data.segment_seconds): the local pitch modulation would be a global detune; give spans "
                         f"of 1/4 to 1/2 of the segment as the paper does (augment.min_seconds={seconds / 4:g} "
                         f"augment.max_seconds={seconds / 2:g})")
    if len(set(cfg.data.domains)) != len(cfg.data.domains) or not cfg.data.domains:
        raise InputError(f"data.domains={list(cfg.data.domains)} must name one or more distinct domains")


def train(cfg: DictConfig) -> Path:
    """Train the encoder, C and every decoder of ``data.domains``; returns the last checkpoint."""
    check_model(cfg)
    pl.seed_everything(cfg.run.seed)  # every rank builds the same initial weights
    module = TranslationModule(model=section(cfg, "model"), domains=list(cfg.data.domains),
                               sample_rate=cfg.data.sample_rate, optim=section(cfg, "optim"),
                               augment=section(cfg, "augment"), example_seconds=cfg.translate.example_seconds,
                               seed=cfg.run.seed)
    fit(cfg, PACKAGE, module, data.TranslationData(cfg))
    return run_dir(cfg, PACKAGE) / "checkpoints" / "last.ckpt"


def add_domain(cfg: DictConfig, folder: Path, name: str | None) -> Path:
    """Train a new decoder for the audio in ``folder`` on the frozen encoder of ``ckpt`` (or this run);
    the new run is ``<run.name>+<name>``. Returns its last checkpoint."""
    folder = Path(folder)
    name = name or folder.name
    base = load_module(checkpoint_path(cfg))
    if name in base.net.domains:
        raise InputError(f"domain {name!r} is already in the checkpoint ({', '.join(base.net.domains)}); "
                         "pass --name")
    if base.hparams.sample_rate != cfg.data.sample_rate or base.net.model_args["pool"] != cfg.model.pool:
        raise InputError(f"the checkpoint was trained at {base.hparams.sample_rate} Hz with pool "
                         f"{base.net.model_args['pool']}; use the same config preset (data.sample_rate, model.pool)")
    new_cfg = cfg.copy()
    new_cfg.run.name = f"{cfg.run.name}+{name}"
    new_cfg.ckpt = None
    root = folder.parent if folder.name == name else _renamed(new_cfg, folder, name)
    hp = dict(base.hparams)
    module = TranslationModule(**{**hp, "domains": [*base.net.domains, name],
                                  "confusion_domains": hp.get("confusion_domains") or len(base.net.domains),
                                  "trainable": [len(base.net.domains)],
                                  "optim": section(cfg, "optim"), "augment": section(cfg, "augment")})
    missing, unexpected = module.load_state_dict(base.state_dict(), strict=False)
    assert not unexpected and all(k.startswith(f"net.decoders.{len(base.net.domains)}.") for k in missing)
    module.batches_done.zero_()  # the new decoder's learning-rate schedule starts afresh
    fit(new_cfg, PACKAGE, module, data.TranslationData(new_cfg, [name], root))
    return run_dir(new_cfg, PACKAGE) / "checkpoints" / "last.ckpt"


def _renamed(cfg: DictConfig, folder: Path, name: str) -> Path:
    """A folder whose name differs from the domain name: linked under the cache as ``<name>``; returns the
    folder holding that link."""
    link = Path(cfg.data.cache) / "domains" / name
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(folder.resolve(), target_is_directory=True)
    return link.parent
