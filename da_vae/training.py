"""The two training stages as runs of the shared Trainer, one run directory per model:

    runs/da_vae/<run.name>/<task>-L<L>-source            stage 1 VAE
    runs/da_vae/<run.name>/<task>-L<L>-encoder[-wt][-aug] stage 2, tasks midi and singing (-aug: data.augment)
    runs/da_vae/<run.name>/separation-L<L>-[r]dae[<alpha>][-mask][-wt][-l1]   stage 2, task separation (r: alpha > 0)

each with a ``-seed<k>`` suffix when ``run.seed`` = k is not 0.

Each run resumes from its own ``last.ckpt`` with ``ckpt_path=last``; a finished run is then a no-op.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf

from common.checks import finite
from common.errors import InputError
from common.lightning import fit, run_dir
from da_vae import data
from da_vae.config import STAGES, TASKS
from da_vae.inference import load_stage
from da_vae.models import VOICE_LOSSES
from da_vae.module import DAE_OUTPUTS, SourceVAE, TargetDAE, TargetEncoder

log = logging.getLogger(__name__)

PACKAGE = "da_vae"


def check_task(cfg: DictConfig) -> None:
    if cfg.task.name not in TASKS:
        raise InputError(f"task.name={cfg.task.name!r} is unknown; use one of {', '.join(TASKS)}")
    if cfg.task.stage not in STAGES:
        raise InputError(f"task.stage={cfg.task.stage!r} is unknown; use one of {', '.join(STAGES)}")
    if cfg.task.voice_loss not in VOICE_LOSSES:
        raise InputError(f"task.voice_loss={cfg.task.voice_loss!r} is unknown; use one of {', '.join(VOICE_LOSSES)}")
    unknown = sorted(set(cfg.task.source_steps) - set(TASKS))
    if unknown:
        raise InputError(f"task.source_steps.{unknown[0]} names no task; use one of {', '.join(TASKS)}")
    for task, steps in cfg.task.source_steps.items():
        finite(f"task.source_steps.{task}", steps, low=0, hint="0 trains it trainer.max_steps")
    if cfg.task.dae_output not in DAE_OUTPUTS:
        raise InputError(f"task.dae_output={cfg.task.dae_output!r} is unknown; use one of {', '.join(DAE_OUTPUTS)}")


def target_variant(task: DictConfig) -> str:
    """``encoder[-wt]`` (alignment) or ``[r]dae[-wt]`` (separation; ``r`` = latent regulariser on)."""
    if task.name != "separation":
        name = "encoder"
    else:
        name = ("r" if task.alpha > 0 else "") + "dae" + (f"{task.alpha:g}" if task.alpha not in (0, 1) else "")
        name += "" if task.dae_output == "magnitude" else f"-{task.dae_output}"
    return name + ("-wt" if task.init_from_source else "")


def augments(cfg: DictConfig, stage: str) -> bool:
    """Whether ``stage`` trains on augmented target audio: the target stage of Tasks 1-2 with ``data.augment``."""
    return stage == "target" and cfg.data.augment.enabled and cfg.task.name in data.AUDIO_TASKS


def stage_steps(cfg: DictConfig, stage: str) -> int:
    """Training steps of ``stage``: ``task.source_steps[task]`` for the source VAE of a task listed there (0:
    none given; :func:`check_task` refuses a negative count), else ``trainer.max_steps``."""
    return (cfg.task.source_steps.get(cfg.task.name, 0) if stage == "source" else 0) or cfg.trainer.max_steps


def stage_config(cfg: DictConfig, stage: str) -> DictConfig:
    """A copy of ``cfg`` whose ``run.name`` is this stage's sub-run (``-aug`` with ``data.augment``) and whose
    ``trainer.max_steps`` is :func:`stage_steps`."""
    variant = "source" if stage == "source" else target_variant(cfg.task)
    variant += "-aug" if augments(cfg, stage) else ""
    variant += "-l1" if cfg.task.name == "separation" and cfg.task.voice_loss == "l1" else ""
    out = cfg.copy()
    seed = f"-seed{cfg.run.seed}" if cfg.run.seed else ""
    out.run.name = f"{cfg.run.name}/{cfg.task.name}-L{cfg.model.latent_dim}-{variant}{seed}"
    out.trainer.max_steps = stage_steps(cfg, stage)
    return out


def last_checkpoint(cfg: DictConfig, stage: str) -> Path:
    return run_dir(stage_config(cfg, stage), PACKAGE) / "checkpoints" / "last.ckpt"


def module_args(cfg: DictConfig, prepared: data.PreparedTask) -> dict:
    d = cfg.data
    mels = {"midi": d.midi_mels, "singing": d.singing_mels}.get(prepared.task, 0)
    stats = prepared.stats
    if prepared.task == "separation":  # the decoders' output layers start at the mean voice representation
        stats = {**stats, "voice_mean": prepared.source_log1p_mean()}
    return dict(task=prepared.task, bands=list(prepared.bands), frames=d.segment_frames,
                model=OmegaConf.to_container(cfg.model), optim=OmegaConf.to_container(cfg.optim),
                features={"sample_rate": d.sample_rate, "n_fft": d.n_fft, "hop_ms": d.hop_ms, "n_mels": mels},
                stats=stats, seed=cfg.run.seed,
                **({"voice_loss": cfg.task.voice_loss} if prepared.task == "separation" else {}))


def train_stage(cfg: DictConfig, stage: str) -> Path:
    """Fit one stage of ``cfg.task`` (resuming per ``cfg.ckpt_path``); returns its ``last.ckpt``."""
    check_task(cfg)
    prepared = data.PreparedTask(data.prepare(cfg, cfg.task.name))
    args = module_args(cfg, prepared)
    pl.seed_everything(cfg.run.seed, workers=True)  # the initial weights too depend only on run.seed
    if stage == "source":
        module = SourceVAE(**args)
    else:
        source_path = Path(cfg.task.source_ckpt) if cfg.task.source_ckpt else last_checkpoint(cfg, "source")
        source = load_stage(source_path, cfg.task.name, "source", "train stage 1 first (`python -m da_vae train "
                            f"task.name={cfg.task.name} task.stage=source`) or set task.source_ckpt=...")
        if cfg.task.name == "separation":
            module = TargetDAE(**args, init_from_source=cfg.task.init_from_source, alpha=cfg.task.alpha,
                               output=cfg.task.dae_output)
        else:
            augment = OmegaConf.to_container(cfg.data.augment) if augments(cfg, stage) else None
            module = TargetEncoder(**args, init_from_source=cfg.task.init_from_source, augment=augment)
        module.start_from(source.vae)
    if augments(cfg, stage):
        data.prepare_audio(cfg, cfg.task.name)
    stage_cfg = stage_config(cfg, stage)
    log.info("training %s (%s) -> %s", stage_cfg.run.name, type(module).__name__, run_dir(stage_cfg, PACKAGE))
    datamodule = data.PairedDataModule(prepared, cfg.data, train_audio=augments(cfg, stage))
    fit(stage_cfg, PACKAGE, module, datamodule)  # last.ckpt = the final state
    return last_checkpoint(cfg, stage)


def train(cfg: DictConfig) -> list[Path]:
    """Stage ``cfg.task.stage`` (or both, source first) of ``cfg.task.name``."""
    stages = ["source", "target"] if cfg.task.stage == "both" else [cfg.task.stage]
    return [train_stage(cfg, stage) for stage in stages]
