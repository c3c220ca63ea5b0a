"""``python -m da_vae plan``: what one task of a preset costs at scale (``common.plan``).

A task trains two stages one after the other, each ``trainer.max_steps`` steps: the source VAE, then the target
encoder (Tasks 1-2) or DAE (Task 3) with the frozen source encoder beside it. One planned step is one step of
each, so the projected time covers both stages, and the all-reduce bytes are those of both models' gradients
(each stage all-reduces only its own, so the total over the two stages is the same).
"""

from __future__ import annotations

import torch
from omegaconf import DictConfig, OmegaConf

from common.corpora import corpus_status, resolve_size
from common.errors import InputError
from common.plan import PlanSpec, stand_in_config
from da_vae import data
from da_vae.config import DaVaeConfig
from da_vae.module import SourceVAE, TargetDAE, TargetEncoder

STAND_IN = ("root", "synthetic", "corpus_size")  # the default's synthetic MAPS / MIR-1K when no real data is there


def bands(cfg: DictConfig) -> tuple[int, int]:
    """(source F, target F) of ``task.name``: piano roll and mel, mel and mel, or |STFT| and |STFT|."""
    d = cfg.data
    return {"midi": (128, d.midi_mels), "singing": (d.singing_mels, d.singing_mels),
            "separation": (d.n_fft // 2 + 1, d.n_fft // 2 + 1)}[cfg.task.name]


def _loader(cfg: DictConfig):
    """The training batches of the prepared task, or None when its features are not cached (nothing is built)."""
    corpus = "maps" if cfg.task.name == "midi" else "mir1k"
    built = corpus_status(corpus, cfg.data.root) if cfg.data.synthetic else None
    if cfg.data.synthetic and (built is None or built["size"] != resolve_size(corpus, cfg.data.corpus_size)):
        return None
    try:
        items = [item for item in data.task_items(cfg, cfg.task.name) if item.split != "heldout"]
    except InputError:
        return None
    directory = data.cache_dir(cfg, cfg.task.name, items)
    if not (directory / "index.json").is_file():
        return None
    module = data.PairedDataModule(data.PreparedTask(directory), cfg.data)
    module.setup()
    return module.train_dataloader()


def plan_spec(cfg: DictConfig) -> PlanSpec:
    """The full-size models of ``task.name`` in ``cfg`` and one step of each stage on a synthetic batch."""
    task, T = cfg.task.name, cfg.data.segment_frames
    source_bands, target_bands = bands(cfg)
    d = cfg.data
    args = dict(task=task, bands=[source_bands, target_bands], frames=T, model=OmegaConf.to_container(cfg.model),
                optim=OmegaConf.to_container(cfg.optim), seed=cfg.run.seed,
                features={"sample_rate": d.sample_rate, "n_fft": d.n_fft, "hop_ms": d.hop_ms, "n_mels": target_bands})
    if task == "separation":
        source = SourceVAE(**args, voice_loss=cfg.task.voice_loss)
        target = TargetDAE(**args, alpha=cfg.task.alpha, output=cfg.task.dae_output, voice_loss=cfg.task.voice_loss,
                           init_from_source=cfg.task.init_from_source)
    else:
        source = SourceVAE(**args)
        target = TargetEncoder(**args, init_from_source=cfg.task.init_from_source)
    target.start_from(source.vae)
    source.train(), target.train()

    def make_batch(n: int):
        g = torch.Generator().manual_seed(0)
        raw = (torch.rand(n, T, source_bands, generator=g) > 0.9).float() if task == "midi" else \
            torch.rand(n, T, source_bands, generator=g)
        return raw, torch.randn(n, T, target_bands, generator=g), raw

    def loss(batch) -> torch.Tensor:
        return source.losses(*batch)["loss"] + target.losses(*batch)["loss"]

    name = "target DAE" if task == "separation" else "target encoder"
    source_steps = cfg.task.source_steps.get(task, 0)
    steps = (f"each trains {cfg.trainer.max_steps:,} steps" if not source_steps else
             f"the target trains {cfg.trainer.max_steps:,} steps, the source VAE {source_steps:,} "
             "(`task.source_steps`); the projection counts the target's steps for both")
    return PlanSpec(model=torch.nn.ModuleDict({"source": source.vae, "target": target.target_model}),
                    make_batch=make_batch, loss=loss, batch_size=d.batch_size, max_steps=cfg.trainer.max_steps,
                    loader=lambda: _loader(cfg),
                    stand_in=lambda: _loader(stand_in_config(cfg, DaVaeConfig, "da_vae", STAND_IN)),
                    parts={"source VAE": source.vae, name: target.target_model},
                    notes=f"Task {task}: one step = one step of each of the two stages ({steps}); the paper gives "
                          "no parameter counts.")
