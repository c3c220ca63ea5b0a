"""The paper's three experiments on the validation split; each trains the models it needs first (resuming
or skipping finished runs) and returns plain, JSON-ready results.

- :func:`audio_to_midi` (Table 2): GTW error e (in frames of 20 ms) between the DTW path and the true path
  after a non-linear time-stretch of the audio, for Proposed (per latent size), Chroma and Spec.
- :func:`singing_alignment` (Figure 4): e of the voice distorted by pitch shift x (linear or non-linear)
  time-stretch, aligned to the intact voice (mono-to-mono) or mixture (mono-to-poly), Proposed vs MCEP.
- :func:`separation` (Table 3): SDR/SIR/SAR/NSDR of the voice for DAE, DAE+wt, rDAE, rDAE+wt with both DAE
  outputs over seeds, with intervals and paired differences, and an alpha sweep (``da_vae.table3``).
"""

from __future__ import annotations

import logging
import math

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from common.align import nonlinear_time_stretch, path_error, pitch_shift, time_stretch
from common.audio import load_audio
from common.parallel import worker_pool
from common.report import Example
from da_vae import data, features, inference, table3, training

log = logging.getLogger(__name__)

def _train_variants(container: dict, task: str, latent_dim: int, variants: dict[str, tuple[bool, float]]) -> dict:
    """Train (or resume, or confirm as finished) the source VAE of one seed and latent size and each stage-2
    ``name: (init_from_source, alpha)`` on it -> {name: last.ckpt}. A job of :func:`trained_models`."""
    run_cfg = OmegaConf.create(container)
    run_cfg.task.name, run_cfg.model.latent_dim, run_cfg.ckpt_path = task, latent_dim, "last"
    run_cfg.task.source_ckpt = None
    training.train_stage(run_cfg, "source")
    paths = {}
    for name, (init_from_source, alpha) in variants.items():
        run_cfg.task.init_from_source, run_cfg.task.alpha = init_from_source, alpha
        paths[name] = str(training.train_stage(run_cfg, "target"))
    return paths


def trained_models(cfg: DictConfig, task: str, variants: dict[str, tuple[bool, float]], seeds: list[int],
                   latent_dims: list[int]) -> dict[tuple[int, int, str], torch.nn.Module]:
    """Stage-2 models of ``task`` -> {(seed, L, name): model in eval mode}, one source VAE per (seed, L) and one
    model per ``name: (init_from_source, alpha)`` on it; the (seed, L) jobs run ``eval.workers`` at a time."""
    data.prepare(cfg, task)  # the feature cache exists before the workers start
    jobs = [(seed, L) for seed in seeds for L in latent_dims]
    containers = []
    for seed, _ in jobs:
        job_cfg = cfg.copy()
        job_cfg.run.seed = seed
        containers.append(OmegaConf.to_container(job_cfg, resolve=True))
    with worker_pool(cfg.eval.workers, cfg.log_level) as run:
        paths = list(run(_train_variants, containers, [task] * len(jobs), [L for _, L in jobs],
                         [variants] * len(jobs)))
    return {(seed, L, name): inference.load_target(path, task)
            for (seed, L), named in zip(jobs, paths) for name, path in named.items()}


def validation_items(cfg: DictConfig, task: str) -> list[data.Item]:
    """Validation items of ``task``; at most ``eval.max_clips`` of them (spread evenly) when it is > 0."""
    items = [item for item in data.task_items(cfg, task) if item.split == "val"]
    limit = cfg.eval.max_clips
    if 0 < limit < len(items):
        log.info("%s: evaluating %d of %d validation clips (eval.max_clips)", task, limit, len(items))
        items = [items[i] for i in np.linspace(0, len(items) - 1, limit).round().astype(int)]
    return items


def random_rates(cfg: DictConfig, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Control rates of a non-linear stretch: one per ``eval.nonlinear_control_seconds``, uniform in range."""
    low, high = cfg.eval.nonlinear_rate_range
    return rng.uniform(low, high, size=max(2, math.ceil(seconds / cfg.eval.nonlinear_control_seconds) + 1))


def audio_to_midi(cfg: DictConfig) -> dict:
    d = cfg.data
    hop = features.hop_length(d.sample_rate, d.hop_ms)
    hop_s = hop / d.sample_rate
    variant = {"proposed": (cfg.task.init_from_source, cfg.task.alpha)}
    trained = trained_models(cfg, "midi", variant, [cfg.run.seed], list(cfg.eval.midi_latent_dims))
    models = {L: m for (_, L, _), m in trained.items()}
    rng = np.random.default_rng(cfg.eval.seed)
    errors: dict[str, dict[str, float]] = {}
    for item in tqdm(validation_items(cfg, "midi"), desc="table 2", unit="piece"):
        audio, midi = load_audio(item.audio, d.sample_rate), features.load_midi(item.midi)
        n = features.frame_count(len(audio), hop)
        stretched = nonlinear_time_stretch(audio, random_rates(cfg, len(audio) / d.sample_rate, rng), hop)
        mel = features.log_mel(features.zscore(stretched.output), d.sample_rate, d.n_fft, hop, d.midi_mels)
        roll = features.piano_roll(midi, n, hop_s)
        pairs = {f"Proposed (L = {L})": (inference.frame_latents(m, roll, "source"),
                                         inference.frame_latents(m, mel, "target")) for L, m in models.items()}
        pairs["Chroma"] = (features.midi_chroma(midi, n, hop_s),
                           features.audio_chroma(stretched.output, d.sample_rate, d.n_fft, hop))
        pairs["Spec"] = (roll, mel)
        errors[item.name] = {name: path_error(inference.dtw_path(X, Y, "euclidean"), stretched.path)
                             for name, (X, Y) in pairs.items()}
    names = list(next(iter(errors.values())))
    return {"median_e": {name: float(np.median([e[name] for e in errors.values()])) for name in names},
            "per_piece": errors}


def post_zscore(latents: np.ndarray) -> np.ndarray:
    """Each latent dimension z-scored over time (the paper's post-normalisation in Task 2)."""
    return (latents - latents.mean(0)) / (latents.std(0) + 1e-8)


def _distortions(cfg: DictConfig, voice: np.ndarray, hop: int, rng: np.random.Generator):
    """Yield ``(pitch step, stretch label, Distortion)`` for every condition of Figure 4."""
    sr = cfg.data.sample_rate
    for step in cfg.eval.pitch_steps:
        shifted = pitch_shift(voice, sr, step, hop).output if step else voice  # pitch shift keeps the timing
        for rate in cfg.eval.stretch_rates:
            yield step, f"{rate:g}", time_stretch(shifted, rate, hop)
        yield step, "non-linear", nonlinear_time_stretch(shifted, random_rates(cfg, len(voice) / sr, rng), hop)


def singing_alignment(cfg: DictConfig) -> dict:
    d = cfg.data
    sr, hop = d.sample_rate, features.hop_length(d.sample_rate, d.hop_ms)
    variant = {"proposed": (cfg.task.init_from_source, cfg.task.alpha)}
    (model,) = trained_models(cfg, "singing", variant, [cfg.run.seed], [cfg.model.latent_dim]).values()

    def proposed(y, domain):
        mel = features.log_mel(features.zscore(y), sr, d.n_fft, hop, d.singing_mels)
        return post_zscore(inference.frame_latents(model, mel, domain))

    rng = np.random.default_rng(cfg.eval.seed)
    errors: dict[str, list[float]] = {}
    for item in tqdm(validation_items(cfg, "singing"), desc="figure 4", unit="clip"):
        voice, accompaniment = data.load_karaoke(item.audio, sr)
        mixture = voice + accompaniment
        originals = {
            "mono-to-mono": {"Proposed": proposed(voice, "source"), "MCEP": features.mcep(voice, sr, d.hop_ms)},
            "mono-to-poly": {"Proposed": proposed(mixture, "target"), "MCEP": features.mcep(mixture, sr, d.hop_ms)},
        }
        for step, stretch, distorted in _distortions(cfg, voice, hop, rng):
            ours = {"Proposed": proposed(distorted.output, "source"),
                    "MCEP": features.mcep(distorted.output, sr, d.hop_ms)}
            for subtask, feats in originals.items():
                for name, X in feats.items():
                    path = inference.dtw_path(X, ours[name], "sqeuclidean")
                    key = f"{subtask}|{name}|{step:g}|{stretch}"
                    errors.setdefault(key, []).append(path_error(path, distorted.path))
    median = {key: float(np.median(values)) for key, values in errors.items()}
    return {"median_e": median, "clips": len(next(iter(errors.values()))),
            "pitch_steps": [f"{s:g}" for s in cfg.eval.pitch_steps],
            "stretches": [f"{r:g}" for r in cfg.eval.stretch_rates] + ["non-linear"]}


def separation(cfg: DictConfig, examples: list[Example] | None = None) -> dict:
    """Table 3 on every validation clip (``eval.max_clips`` does not apply), both DAE outputs, every seed of
    ``eval.seeds``, and the alpha sweep (``da_vae.table3``); the first ``eval.examples`` clips go to ``examples``."""
    items = [item for item in data.task_items(cfg, "separation") if item.split == "val"]
    return table3.run(cfg, items, examples)
