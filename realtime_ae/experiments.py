"""The models of Tables I-V, trained once per seed (in parallel worker processes), and what is measured on
them: per-frame held-out MSE, training time, test-set latents, and Table V's mesh chroma accuracy.

Runs: ``runs/realtime_ae/<run.name>/eval/<corpus>-b<units>-<activation>-<augmentation>-<skip|noskip>-seed<k>``;
a run whose ``last.ckpt`` exists is reused (``train_seconds.txt`` keeps its training time).
"""

from __future__ import annotations

import itertools
import logging
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from realtime_ae import data, features, training
from realtime_ae.module import FrameAutoencoder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Spec:
    corpus: str
    bottleneck: int
    activation: str
    augmentation: str
    skip: bool

    @property
    def name(self) -> str:
        return (f"{self.corpus}-b{self.bottleneck}-{self.activation}-{self.augmentation}-"
                f"{'skip' if self.skip else 'noskip'}")


def table_specs() -> dict[str, list[Spec]]:
    """The models behind each table, in the paper's row order."""
    return {
        "I": [Spec("five_octave", 8, "lrelu", aug, False) for aug in ("none", "diff", "chroma")],
        "II": [Spec("one_octave", 2, act, "chroma", skip) for act in ("lrelu", "sigmoid") for skip in (False, True)],
        "III": [Spec("violin", 2, act, "chroma", skip) for act in ("lrelu", "sigmoid") for skip in (False, True)],
        "IV": [Spec(c, 3, "sigmoid", "chroma", skip) for c in ("one_octave", "violin") for skip in (False, True)],
        "V": [Spec(c, b, "sigmoid", "chroma", True) for c in ("one_octave", "violin") for b in (2, 3, 8)],
    }


def run_config(cfg: DictConfig, spec: Spec, seed: int) -> DictConfig:
    out = cfg.copy()
    out.run.name = f"{cfg.run.name}/eval/{spec.name}-seed{seed}"
    out.run.seed = seed
    out.logger.wandb = cfg.logger.wandb and cfg.eval.wandb  # off for speed unless eval.wandb
    out.data.corpus = spec.corpus
    out.model.bottleneck, out.model.activation = spec.bottleneck, spec.activation
    out.model.augmentation, out.model.skip, out.model.variational = spec.augmentation, spec.skip, False
    return out


def _train_job(container: dict) -> float:
    """Worker: train one run from a plain config; returns its wall time in seconds."""
    torch.set_num_threads(1)
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    logging.getLogger("lightning").setLevel(logging.WARNING)
    cfg = OmegaConf.create(container)
    started = time.perf_counter()
    training.train(cfg)
    seconds = time.perf_counter() - started
    (training.last_checkpoint(cfg).parent.parent / "train_seconds.txt").write_text(f"{seconds:.2f}\n")
    return seconds


def train_all(cfg: DictConfig, specs: list[Spec], seeds: list[int]) -> dict[tuple[Spec, int], Path]:
    """Train every (spec, seed) without a checkpoint, ``eval.workers`` at a time; returns the checkpoints."""
    runs = {(s, k): run_config(cfg, s, k) for s, k in itertools.product(specs, seeds)}
    for corpus in sorted({s.corpus for s in specs}):  # prepare once, before the workers race for it
        data.prepare(next(c for (s, _), c in runs.items() if s.corpus == corpus))
    todo = [c for c in runs.values() if not training.trained_checkpoint(c)]
    log.info("eval: %d models (%d specs x %d seeds), %d to train", len(runs), len(specs), len(seeds), len(todo))
    jobs = [OmegaConf.to_container(c, resolve=True) for c in todo]
    if cfg.eval.workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(cfg.eval.workers, mp_context=get_context("spawn")) as pool:
            for done, seconds in enumerate(pool.map(_train_job, jobs), start=1):
                log.info("eval: trained %d/%d (%.0f s)", done, len(jobs), seconds)
    else:
        for job in jobs:
            _train_job(job)
    return {key: training.last_checkpoint(c) for key, c in runs.items()}


def train_seconds(ckpt: Path) -> float | None:
    path = ckpt.parent.parent / "train_seconds.txt"
    return float(path.read_text()) if path.is_file() else None


@torch.no_grad()
def frame_mse(module: FrameAutoencoder, frames: torch.Tensor, chroma: torch.Tensor) -> np.ndarray:
    """Per-frame MSE over the bins (n,) of the deterministic reconstruction."""
    out = [(module.reconstruct(f, c) - f).square().mean(-1) for f, c in zip(frames.split(2048), chroma.split(2048))]
    return torch.cat(out).numpy()


@torch.no_grad()
def latents(module: FrameAutoencoder, frames: torch.Tensor, chroma: torch.Tensor) -> np.ndarray:
    return torch.cat([module.net.encode(f, c)[0] for f, c in zip(frames.split(4096), chroma.split(4096))]).numpy()


def mesh(units: int, length: int) -> torch.Tensor:
    """All points of a ``length``^units grid over [0, 1]^units (the sigmoid bottleneck's range)."""
    axes = [torch.linspace(0, 1, length)] * units
    return torch.cartesian_prod(*axes).reshape(-1, units)


@torch.no_grad()
def mesh_accuracy(module: FrameAutoencoder, length: int, sample_rate: int, chunk: int = 8192) -> np.ndarray:
    """Table V: for each conditioning pitch class (12,), the fraction of mesh points whose decoded frame's
    88-band chroma argmax is that class."""
    points = mesh(module.hparams.model["bottleneck"], length)
    accuracy = np.zeros(12)
    for k in range(12):
        hits = 0
        for z in points.split(chunk):
            out = module.net.decoder(z, features.onehot(torch.full((len(z),), k)))
            hits += int((features.chroma_class(out, sample_rate) == k).sum())
        accuracy[k] = hits / len(points)
    return accuracy


def mesh_classes(module: FrameAutoencoder, length: int, sample_rate: int) -> np.ndarray:
    """(12, length, length) output pitch class of a 2-D mesh under each conditioning class (Figures 4-5)."""
    points = mesh(2, length)
    with torch.no_grad():
        return np.stack([features.chroma_class(module.net.decoder(points, features.onehot(torch.full(
            (len(points),), k))), sample_rate).reshape(length, length).numpy() for k in range(12)])


def split_set(cfg: DictConfig, corpus: str, split: str = "test") -> tuple[data.PreparedCorpus, torch.Tensor,
                                                                          torch.Tensor]:
    """(prepared corpus, frames, one-hot chroma) of one split of ``corpus``."""
    c = cfg.copy()
    c.data.corpus = corpus
    prepared = data.PreparedCorpus(data.prepare(c))
    return (prepared, *prepared.tensors(prepared.split_rows(split)))

