"""The paper's three experiments on the validation split; each trains the models it needs first (resuming
or skipping finished runs) and returns plain, JSON-ready results.

- :func:`audio_to_midi` (Table 2): GTW error e (in frames of 20 ms) between the DTW path and the true path
  after a non-linear time-stretch of the audio, for Proposed (per latent size, over the training seeds),
  Chroma and Spec, on the training pianos (in-domain) and on the held-out piano.
- :func:`singing_alignment` (Figure 4): e of the voice distorted by pitch shift x (linear or non-linear)
  time-stretch, aligned to the intact voice (mono-to-mono) or mixture (mono-to-poly), Proposed (over the
  training seeds) vs MCEP (``da_vae.figure4``).
- :func:`separation` (Table 3): SDR/SIR/SAR/NSDR of the voice for DAE, DAE+wt, rDAE, rDAE+wt with both DAE
  outputs over seeds, with intervals and paired differences, and an alpha sweep (``da_vae.table3``).
"""

from __future__ import annotations

import hashlib
import logging
import resource
from dataclasses import asdict

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from common.align import nonlinear_time_stretch, path_error
from common.audio import audio_info, load_audio
from common.errors import InputError
from common.parallel import worker_pool
from common.report import Example
from common.report.stats import mean_ci
from da_vae import catalog, data, features, figure4, inference, table3, training
from da_vae.figure4 import random_rates

log = logging.getLogger(__name__)

def cpu_seconds() -> float:
    """User + system CPU seconds of this process and its finished workers (the pools of ``worker_pool``)."""
    return sum(r.ru_utime + r.ru_stime for r in map(resource.getrusage, (resource.RUSAGE_SELF,
                                                                         resource.RUSAGE_CHILDREN)))


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
    if cfg.data.augment.enabled and task in data.AUDIO_TASKS:
        data.prepare_audio(cfg, task)
    jobs = [(seed, L) for seed in seeds for L in latent_dims]
    containers = []
    for seed, _ in jobs:
        job_cfg = cfg.copy()
        job_cfg.run.seed = seed
        containers.append(OmegaConf.to_container(job_cfg, resolve=True))
    started = cpu_seconds()
    with worker_pool(cfg.eval.workers, cfg.log_level) as run:
        paths = list(run(_train_variants, containers, [task] * len(jobs), [L for _, L in jobs],
                         [variants] * len(jobs)))
    log.info("%s: trained %d model(s) in %.0f CPU-s", task, len(jobs) * (1 + len(variants)), cpu_seconds() - started)
    return {(seed, L, name): inference.load_target(path, task)
            for (seed, L), named in zip(jobs, paths) for name, path in named.items()}


def validation_items(cfg: DictConfig, task: str) -> list[catalog.Item]:
    """Validation items of ``task``; at most ``eval.max_clips`` of them (spread evenly) when it is > 0."""
    items = [item for item in catalog.task_items(cfg, task) if item.split == "val"]
    limit = cfg.eval.max_clips
    if 0 < limit < len(items):
        log.info("%s: evaluating %d of %d validation clips (eval.max_clips)", task, limit, len(items))
        items = [items[i] for i in np.linspace(0, len(items) - 1, limit).round().astype(int)]
    return items


DOMAINS = {"val": "in-domain", "heldout": "held-out piano"}  # item split -> Table 2 domain


def source_fingerprint(model: torch.nn.Module) -> str:
    """A digest of a stage-2 model's frozen source encoder: equal for models trained on the same VAE."""
    digest = hashlib.sha1()
    for tensor in model.source.state_dict().values():
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def _score_pieces(container: dict, items: list[dict], stretches: dict[str, list[float]],
                  checkpoints: dict[str, dict[str, str]]) -> dict[str, dict]:
    """Table 2 errors of ``items`` (``catalog.Item`` fields), each non-linearly stretched with the control rates
    of its piece, for Proposed (``checkpoints``: {method: {seed: stage-2 last.ckpt}}), Chroma and Spec ->
    {item name: {e_per_seed: {method: {seed: e}}, Chroma: e, Spec: e}}. A job of :func:`audio_to_midi`."""
    d = OmegaConf.create(container).data
    hop = features.hop_length(d.sample_rate, d.hop_ms)
    hop_s = hop / d.sample_rate
    models = {(name, seed): inference.load_target(path, "midi")
              for name, by_seed in checkpoints.items() for seed, path in by_seed.items()}
    sources = {key: source_fingerprint(model) for key, model in models.items()}
    roll_latents: dict[tuple, np.ndarray] = {}  # the pianos of a piece share its MIDI, models may share a VAE
    scores = {}
    for item in items:
        audio, midi = load_audio(item["audio"], d.sample_rate), features.load_midi(item["midi"])
        n = features.frame_count(len(audio), hop)
        stretched = nonlinear_time_stretch(audio, stretches[item["group"]], hop)
        mel = features.log_mel(features.zscore(stretched.output), d.sample_rate, d.n_fft, hop, d.midi_mels)
        roll = features.piano_roll(midi, n, hop_s)

        def error(X: np.ndarray, Y: np.ndarray, truth: np.ndarray = stretched.path) -> float:
            return path_error(inference.dtw_path(X, Y, "euclidean"), truth)

        per_seed: dict[str, dict[str, float]] = {}
        for (name, seed), model in models.items():
            key = (item["group"], n, sources[name, seed])
            if key not in roll_latents:
                roll_latents[key] = inference.frame_latents(model, roll, "source")
            audio_latents = inference.frame_latents(model, mel, "target")
            per_seed.setdefault(name, {})[seed] = error(roll_latents[key], audio_latents)
        scores[item["name"]] = {"e_per_seed": per_seed, "Spec": error(roll, mel), "Chroma": error(
            features.midi_chroma(midi, n, hop_s), features.audio_chroma(stretched.output, d.sample_rate, d.n_fft, hop))}
    return scores


def audio_to_midi(cfg: DictConfig) -> dict:
    """Table 2 for the models of every seed in ``eval.seeds``, per domain: ``in-domain`` (the validation pieces
    on the training pianos ``data.instruments``) and ``held-out piano`` (the same pieces on
    ``data.heldout_instrument``). Each piece gets one non-linear stretch, the same on every piano; the pieces are
    scored ``eval.workers`` at a time. With ``eval.midi_augment`` (and ``data.augment`` off) the first latent size is
    also trained with ``data.augment`` on in stage 2 (method ``Proposed (L = <L>) + augment``). Per domain:
    ``items`` {name: {piece, piano, e: {method: e}, e_per_seed:
    {method: {seed: e}}}} (Proposed's e is the mean over seeds), ``median_e`` {method: median of e over items},
    ``mean_e`` {method: [mean, 95% low, high]} and ``median_e_per_seed`` {method: [median of each seed]}."""
    seeds = list(cfg.eval.seeds)
    if not seeds:
        raise InputError("eval.seeds is empty; give at least one training seed, e.g. [0]")
    latent_dims = list(cfg.eval.midi_latent_dims)
    variant = {"proposed": (cfg.task.init_from_source, cfg.task.alpha)}
    trained_models(cfg, "midi", variant, seeds, latent_dims)
    runs = [(f"Proposed (L = {L})", cfg, L) for L in latent_dims]
    if cfg.eval.midi_augment and not cfg.data.augment.enabled:  # the first size again, stage 2 on augmented audio
        augmented = cfg.copy()
        augmented.data.augment.enabled = True
        trained_models(augmented, "midi", variant, seeds, latent_dims[:1])
        runs.append((f"Proposed (L = {latent_dims[0]}) + augment", augmented, latent_dims[0]))
    checkpoints: dict[str, dict[str, str]] = {}
    for seed in seeds:
        for name, base, L in runs:
            run_cfg = base.copy()
            run_cfg.task.name, run_cfg.model.latent_dim, run_cfg.run.seed = "midi", L, seed
            checkpoints.setdefault(name, {})[str(seed)] = str(training.last_checkpoint(run_cfg, "target"))
    items = [item for item in catalog.task_items(cfg, "midi") if item.split in DOMAINS]
    rng = np.random.default_rng(cfg.eval.seed)
    stretches = {}
    for item in items:  # one stretch per piece, drawn in item order
        if item.group not in stretches:
            stretches[item.group] = random_rates(cfg, audio_info(item.audio).duration, rng).tolist()
    pieces = list(stretches)  # a piece's items go to one job, which computes its MIDI's latents once per VAE
    workers = max(1, cfg.eval.workers)
    chunks = [[asdict(item) for item in items if item.group in pieces[k::workers]] for k in range(workers)]
    container = OmegaConf.to_container(cfg, resolve=True)
    started = cpu_seconds()
    with worker_pool(cfg.eval.workers, cfg.log_level) as run:
        scores = {}
        for part in run(_score_pieces, [container] * len(chunks), chunks, [stretches] * len(chunks),
                        [checkpoints] * len(chunks)):
            scores.update(part)
    log.info("table 2: scored %d items in %.0f CPU-s", len(items), cpu_seconds() - started)
    domains: dict[str, dict] = {name: {"items": {}} for name in DOMAINS.values()}
    for item in items:
        score = scores[item.name]
        e = {name: float(np.mean(list(by_seed.values()))) for name, by_seed in score["e_per_seed"].items()}
        domains[DOMAINS[item.split]]["items"][item.name] = {
            "piece": item.group, "piano": item.instrument, "e": {**e, "Chroma": score["Chroma"], "Spec": score["Spec"]},
            "e_per_seed": score["e_per_seed"]}
    for name in [name for name, domain in domains.items() if not domain["items"]]:
        log.warning("table 2: no %s items (data.instruments=%s, data.heldout_instrument=%s); left out", name,
                    list(cfg.data.instruments), cfg.data.heldout_instrument)
        del domains[name]
    for domain in domains.values():
        rows = list(domain["items"].values())
        methods = list(rows[0]["e"])
        domain["median_e"] = {m: float(np.median([r["e"][m] for r in rows])) for m in methods}
        domain["mean_e"] = {m: list(mean_ci([r["e"][m] for r in rows])) for m in methods}
        domain["median_e_per_seed"] = {m: [float(np.median([r["e_per_seed"][m][str(s)] for r in rows]))
                                           for s in seeds] for m in checkpoints}
    return {"domains": domains, "seeds": seeds, "instruments": list(cfg.data.instruments),
            "heldout_instrument": cfg.data.heldout_instrument, "hop_ms": cfg.data.hop_ms}


def singing_alignment(cfg: DictConfig) -> dict:
    """Figure 4 (``da_vae.figure4``) on the validation clips (``eval.max_clips``) with the models of every seed
    in ``eval.seeds``."""
    seeds = list(cfg.eval.seeds)
    if not seeds:
        raise InputError("eval.seeds is empty; give at least one training seed, e.g. [0]")
    trained_models(cfg, "singing", {"proposed": (cfg.task.init_from_source, cfg.task.alpha)}, seeds,
                   [cfg.model.latent_dim])
    checkpoints = {}
    for seed in seeds:
        run_cfg = cfg.copy()
        run_cfg.task.name, run_cfg.run.seed = "singing", seed
        checkpoints[str(seed)] = str(training.last_checkpoint(run_cfg, "target"))
    return figure4.run(cfg, validation_items(cfg, "singing"), checkpoints)


def separation(cfg: DictConfig, examples: list[Example] | None = None) -> dict:
    """Table 3 on every validation clip (``eval.max_clips`` does not apply), both DAE outputs, every seed of
    ``eval.seeds``, and the alpha sweep (``da_vae.table3``); the first ``eval.examples`` clips go to ``examples``."""
    items = [item for item in catalog.task_items(cfg, "separation") if item.split == "val"]
    return table3.run(cfg, items, examples)
