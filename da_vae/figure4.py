"""Figure 4 (Task 2, singing voice alignment): the voice of each validation clip is pitch-shifted and
time-stretched (linearly or non-linearly) and aligned back to the intact voice (mono-to-mono) or mixture
(mono-to-poly) with the Proposed latents of every training seed and with MCEP; e is the GTW error in frames.

Clips are scored ``eval.workers`` at a time; each clip draws its non-linear stretches from its own generator
(``eval.seed``, clip index), so the result does not depend on how clips are shared out."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
from omegaconf import DictConfig, OmegaConf

from common.align import nonlinear_time_stretch, path_error, pitch_shift, time_stretch
from common.parallel import worker_pool
from da_vae import catalog, features, inference

SUBTASKS = ("mono-to-mono", "mono-to-poly")


def post_zscore(latents: np.ndarray) -> np.ndarray:
    """Each latent dimension z-scored over time (the paper's post-normalisation in Task 2)."""
    return (latents - latents.mean(0)) / (latents.std(0) + 1e-8)


def random_rates(cfg: DictConfig, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Control rates of a non-linear stretch: one per ``eval.nonlinear_control_seconds``, uniform in range."""
    low, high = cfg.eval.nonlinear_rate_range
    return rng.uniform(low, high, size=max(2, int(np.ceil(seconds / cfg.eval.nonlinear_control_seconds)) + 1))


def distortions(cfg: DictConfig, voice: np.ndarray, hop: int, rng: np.random.Generator):
    """Yield ``(pitch step, stretch label, Distortion)`` for every condition of Figure 4."""
    sr = cfg.data.sample_rate
    for step in cfg.eval.pitch_steps:
        shifted = pitch_shift(voice, sr, step, hop).output if step else voice  # pitch shift keeps the timing
        for rate in cfg.eval.stretch_rates:
            yield step, f"{rate:g}", time_stretch(shifted, rate, hop)
        yield step, "non-linear", nonlinear_time_stretch(shifted, random_rates(cfg, len(voice) / sr, rng), hop)


def clip_features(y: np.ndarray, domain: str, models: dict, d: DictConfig) -> dict:
    """Task 2 features of mono ``y``: ``{"MCEP": (frames, 24), "Proposed": {seed: (frames, L)}}``, the latents
    of each seed's model (its source encoder for ``domain="source"``, else its target encoder) on the log-mel of
    the z-scored audio, each latent dimension z-scored over time (:func:`post_zscore`)."""
    sr, hop = d.sample_rate, features.hop_length(d.sample_rate, d.hop_ms)
    mel = features.log_mel(features.zscore(y), sr, d.n_fft, hop, d.singing_mels)
    return {"MCEP": features.mcep(y, sr, d.hop_ms),
            "Proposed": {seed: post_zscore(inference.frame_latents(model, mel, domain))
                         for seed, model in models.items()}}


def alignment_error(original: np.ndarray, distorted: np.ndarray, truth: np.ndarray) -> float:
    """e (frames) of the DTW path (squared Euclidean cost) between the features of the original ``(N, d)`` and
    of the distorted signal ``(M, d)``, against the true path ``truth`` of (original frame, distorted frame)."""
    return path_error(inference.dtw_path(original, distorted, "sqeuclidean"), truth)


def _score_clips(container: dict, items: list[tuple[int, dict]], checkpoints: dict[str, str]) -> dict[str, dict]:
    """Errors of the clips ``items`` ((index, ``catalog.Item`` fields)) in every condition -> {clip name: {key
    ``subtask|pitch|stretch``: {"MCEP": e, "Proposed": {seed: e}}}}, with the stage-2 models ``checkpoints``
    {seed: last.ckpt}. A job of :func:`run`."""
    cfg = OmegaConf.create(container)
    d = cfg.data
    hop = features.hop_length(d.sample_rate, d.hop_ms)
    models = {seed: inference.load_target(path, "singing") for seed, path in checkpoints.items()}
    scores = {}
    for index, fields in items:
        voice, accompaniment = catalog.load_karaoke(fields["audio"], d.sample_rate)
        originals = dict(zip(SUBTASKS, (clip_features(voice, "source", models, d),
                                        clip_features(voice + accompaniment, "target", models, d))))
        clip = scores[fields["name"]] = {}
        rng = np.random.default_rng([cfg.eval.seed, index])
        for step, stretch, distorted in distortions(cfg, voice, hop, rng):
            ours, truth = clip_features(distorted.output, "source", models, d), distorted.path
            for subtask, theirs in originals.items():
                clip[f"{subtask}|{step:g}|{stretch}"] = {
                    "MCEP": alignment_error(theirs["MCEP"], ours["MCEP"], truth),
                    "Proposed": {seed: alignment_error(X, ours["Proposed"][seed], truth)
                                 for seed, X in theirs["Proposed"].items()}}
    return scores


def run(cfg: DictConfig, items: list[catalog.Item], checkpoints: dict[str, str]) -> dict:
    """Figure 4 on ``items`` with the stage-2 models ``checkpoints`` {seed: last.ckpt} -> ``errors`` {``subtask|
    method|pitch|stretch``: e per clip} (Proposed's e is the mean over seeds), ``errors_per_seed`` {``subtask|
    pitch|stretch``: {seed: Proposed's e per clip}}, ``median_e`` (median over clips of ``errors``), ``clips``,
    ``seeds``, ``pitch_steps`` and ``stretches``."""
    workers = max(1, cfg.eval.workers)
    indexed = list(enumerate(asdict(item) for item in items))
    chunks = [indexed[k::workers] for k in range(workers) if indexed[k::workers]]
    container = OmegaConf.to_container(cfg, resolve=True)
    scores = {}
    with worker_pool(cfg.eval.workers, cfg.log_level) as map_jobs:
        for part in map_jobs(_score_clips, [container] * len(chunks), chunks, [checkpoints] * len(chunks)):
            scores.update(part)
    clips = [scores[item.name] for item in items]
    errors, per_seed = {}, {}
    for key in clips[0]:
        subtask, condition = key.split("|", 1)
        errors[f"{subtask}|MCEP|{condition}"] = [clip[key]["MCEP"] for clip in clips]
        errors[f"{subtask}|Proposed|{condition}"] = [float(np.mean(list(clip[key]["Proposed"].values())))
                                                     for clip in clips]
        per_seed[key] = {seed: [clip[key]["Proposed"][seed] for clip in clips] for seed in checkpoints}
    return {"median_e": {key: float(np.median(values)) for key, values in errors.items()}, "errors": errors,
            "errors_per_seed": per_seed, "clips": len(clips), "clip_names": [item.name for item in items],
            "seeds": [int(seed) for seed in checkpoints], "pitch_steps": [f"{s:g}" for s in cfg.eval.pitch_steps],
            "stretches": [f"{r:g}" for r in cfg.eval.stretch_rates] + ["non-linear"], "hop_ms": cfg.data.hop_ms}
