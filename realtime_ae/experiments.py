"""The models of Tables I-V, trained once per seed (in parallel worker processes), the synthesizer's default
model (trained per seed and per torch thread setting), and what is measured on them: per-frame held-out MSE,
training time, test-set latents, and Table V's mesh chroma accuracy.

Runs: ``runs/realtime_ae/<run.name>/eval/<spec>-seed<k>-threads<t>``, ``<spec>`` =
``[synth-]<corpus>-b<units>-<activation>-<augmentation>-<skip|noskip>``; a run that finished (``last.ckpt`` and
``train_seconds.txt``, its training time) is reused when it was trained with the same config; one stopped before its
end (a periodic ``last.ckpt``, no time) resumes from its checkpoint (then its time counts the resumed part only).
Seed 0 on one thread of the synth spec is the model the verbs use by default (:func:`default_checkpoint`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from common.parallel import map_by_threads, worker_pool
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
    synth: bool = False  # the synthesizer's model: eval.default_epochs and eval.default_log_weight

    @property
    def name(self) -> str:
        return (f"{'synth-' if self.synth else ''}{self.corpus}-b{self.bottleneck}-{self.activation}-"
                f"{self.augmentation}-{'skip' if self.skip else 'noskip'}")


# the verbs' model: the 2-unit sigmoid bottleneck with the chroma skip on the one-octave corpus (two sliders and
# twelve keys, as the paper's synth), trained longer and with a log-magnitude term (eval.default_*)
SYNTH = Spec("one_octave", 2, "sigmoid", "chroma", True, synth=True)


def table_specs() -> dict[str, list[Spec]]:
    """The models behind each table, in the paper's row order."""
    return {
        "I": [Spec("five_octave", 8, "lrelu", aug, False) for aug in ("none", "diff", "chroma")],
        "II": [Spec("one_octave", 2, act, "chroma", skip) for act in ("lrelu", "sigmoid") for skip in (False, True)],
        "III": [Spec("violin", 2, act, "chroma", skip) for act in ("lrelu", "sigmoid") for skip in (False, True)],
        "IV": [Spec(c, 3, "sigmoid", "chroma", skip) for c in ("one_octave", "violin") for skip in (False, True)],
        "V": [Spec(c, b, "sigmoid", "chroma", True) for c in ("one_octave", "violin") for b in (2, 3, 8)],
    }


def run_config(cfg: DictConfig, spec: Spec, seed: int, threads: int = 1) -> DictConfig:
    out = cfg.copy()
    out.run.name = f"{cfg.run.name}/eval/{spec.name}-seed{seed}-threads{threads}"
    out.run.seed = seed
    out.threads = threads
    out.ckpt_path = "last"  # a run stopped before its end resumes; a fresh one starts from scratch
    out.logger.wandb = cfg.logger.wandb and cfg.eval.wandb  # off for speed unless eval.wandb
    out.data.corpus = spec.corpus
    out.model.bottleneck, out.model.activation = spec.bottleneck, spec.activation
    out.model.augmentation, out.model.skip, out.model.variational = spec.augmentation, spec.skip, False
    if spec.synth:
        out.trainer.max_epochs = cfg.eval.default_epochs
        out.optim.log_weight = cfg.eval.default_log_weight
    return out


def default_checkpoint(cfg: DictConfig) -> Path:
    """The model the verbs use when no ``ckpt`` is given: the eval's synth model, seed 0, one thread."""
    return training.last_checkpoint(run_config(cfg, SYNTH, 0, 1))


def _train_job(container: dict) -> float:
    """Job: train one run from a plain config on its ``threads``; returns its wall time in seconds."""
    torch.set_num_threads(container["threads"])
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    logging.getLogger("lightning").setLevel(logging.WARNING)
    cfg = OmegaConf.create(container)
    started = time.perf_counter()
    training.train(cfg)
    seconds = time.perf_counter() - started
    (training.last_checkpoint(cfg).parent.parent / "train_seconds.txt").write_text(f"{seconds:.2f}\n")
    return seconds


def train_all(cfg: DictConfig, runs: list[tuple[Spec, int, int]]) -> dict[tuple[Spec, int, int], Path]:
    """Train every (spec, seed, threads) without a checkpoint: one-thread runs ``eval.workers`` at a time, then the
    runs on more threads after them, side by side (``common.parallel.map_by_threads``); returns the
    checkpoints."""
    configs = {key: run_config(cfg, *key) for key in dict.fromkeys(runs)}
    for corpus in sorted({s.corpus for s, _, _ in configs}):  # prepare once, before the workers race for it
        data.prepare(next(c for (s, _, _), c in configs.items() if s.corpus == corpus))
    todo = [c for c in configs.values() if not finished(c)]
    log.info("eval: %d models, %d to train", len(configs), len(todo))
    with worker_pool(min(cfg.eval.workers, len(todo)), cfg.log_level) as run:
        seconds = map_by_threads(run, _train_job, [(OmegaConf.to_container(c, resolve=True),) for c in todo],
                                 [c.threads for c in todo], cfg.eval.workers, cfg.log_level)
    if todo:
        log.info("eval: trained %d models in %.0f s of training", len(todo), sum(seconds))
    return {key: training.last_checkpoint(c) for key, c in configs.items()}


def finished(cfg: DictConfig) -> bool:
    """Trained to its end with this config: ``last.ckpt`` (checked by :func:`training.trained_checkpoint`) and the
    ``train_seconds.txt`` written after the fit returns."""
    ckpt = training.trained_checkpoint(cfg)
    return ckpt is not None and (ckpt.parent.parent / "train_seconds.txt").is_file()


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

