"""``python -m music_translation eval``: the paper's automatic experiments on held-out test audio.

Table 2: pitch contours (librosa's pYIN) of each input and its translation by the ``eval.target`` decoder,
NCC at the best shift and correlation after DTW, per source group, beside two references measured the same
way: an unrelated segment of the target domain (chance) and the source's own-domain autoencoder (ceiling).
Figure 2 made automatic: lineup sets of the real source through its own autoencoder and its translations to
every other training domain; a domain classifier trained on real audio picks the source. Figure 3: cosine
similarities of mean encoder embeddings across pitch, for two pairs of NSynth stand-in instruments.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from common.corpora import ensure_corpus
from common.errors import ConfigError
from common.lightning.config import eval_without_wandb
from common.mulaw import mu_law_decode
from common.parallel import worker_pool
from common.report import write_report
from music_translation import data, inference, scores, training
from music_translation.figures import embedding_figure, lineup_figure
from music_translation.report import build_report


def test_segments(cfg: DictConfig, domains: list[str], n: int, length: int, seed: int) -> np.ndarray:
    """``n`` random test segments spread over ``domains``: (n, length) uint8 codes."""
    rng = np.random.default_rng(seed)
    counts = np.bincount(np.arange(n) % len(domains), minlength=len(domains))
    return np.concatenate([data.DomainAudio(cfg, d, "test").random_segments(rng, c, length)
                           for d, c in zip(domains, counts) if c])


def to_audio(codes: np.ndarray) -> np.ndarray:
    """uint8 mu-law codes (..., T) -> float audio (..., T)."""
    return mu_law_decode(torch.from_numpy(codes.astype(np.int64))).numpy()


def segment_length(cfg: DictConfig) -> tuple[int, int]:
    """(sample rate in Hz, samples of a test segment: ``eval.segment_seconds`` in whole latent frames), from the
    checkpoint with ``ckpt=``, else from this config."""
    if cfg.ckpt:
        hparams = inference.load_module(cfg.ckpt).hparams
        rate, pool = hparams.sample_rate, hparams.model["pool"]
    else:
        rate, pool = cfg.data.sample_rate, cfg.model.pool
    return rate, int(cfg.eval.segment_seconds * rate) // pool * pool


def reference_segments(cfg: DictConfig, length: int) -> dict:
    """The model-independent half of Table 2: the test segments of every source group and of the target domain
    (unrelated partners), their pYIN contours (worked out in ``pool_map``) and, per input, the chance scores.

    Chance for an input is the mean of its scores against every unrelated segment, so the reference against which
    each translation is paired carries no sampling noise of its own."""
    groups = {d: [d] for d in cfg.data.domains if d != cfg.eval.target}
    if list(cfg.data.unseen_domains):
        groups["new domains (" + ", ".join(cfg.data.unseen_domains) + ")"] = list(cfg.data.unseen_domains)
    inputs = {g: test_segments(cfg, ds, cfg.eval.segments, length, cfg.eval.seed + i)
              for i, (g, ds) in enumerate(groups.items())}
    unrelated = test_segments(cfg, [cfg.eval.target], cfg.eval.segments, length, cfg.eval.seed + 99)
    return {"groups": groups, "inputs": inputs, "unrelated": unrelated}


def contours_of(codes: np.ndarray, rate: int) -> list[tuple[np.ndarray, float]]:
    """Job: pYIN (contour, voiced fraction) of each segment of ``codes`` (n, T)."""
    return [scores.pitch_contour(a, rate) for a in to_audio(codes)]


def chance_scores(inputs: list[np.ndarray], partners: list[tuple[np.ndarray, float]], max_shift: int) -> np.ndarray:
    """Per input contour, the mean over the unrelated ``partners`` (contour, voiced) of (NCC, DTW correlation,
    voiced fraction) -> (n, 3)."""
    return np.array([np.mean([(scores.ncc_best_shift(a, b, max_shift), scores.dtw_corr(a, b), voiced)
                              for b, voiced in partners], axis=0) for a in inputs])


def max_shift_frames(rate: int) -> int:
    """0.25 s in pYIN frames (hop: a quarter of ``scores.pitch_contour``'s frame)."""
    return int(0.25 * rate / (scores.frame_length(rate) // 4))


def decode_all(module, segments: np.ndarray, jobs: dict[int, list[int]], cfg: DictConfig) -> dict[int, list]:
    """Encode every segment (n, T) once, then generate each decoder's streams as one batch:
    {decoder: [segment index]} -> {decoder: [audio (T,)]}."""
    pool = module.net.model_args["pool"]
    chunk = max(1, round(cfg.translate.chunk_seconds * cfg.data.sample_rate / pool))
    codes = torch.from_numpy(segments.astype(np.int64))
    latent = torch.cat([inference.encode(module, part) for part in codes.split(16)])
    out = {}
    for decoder, index in jobs.items():
        gen = inference.generate(module, latent[index], decoder, chunk, cfg.eval.seed, cfg.translate.temperature,
                                 cfg.translate.backend, progress=True)[:, :codes.shape[1]]
        out[decoder] = list(mu_law_decode(gen).numpy())
    return out


def contour_scores(a: np.ndarray, out: np.ndarray, rate: int, max_shift: int) -> tuple[float, float, float]:
    """Input contour ``a`` vs the contour of ``out`` -> (NCC at the best shift, DTW correlation, voiced fraction)."""
    b, voiced = scores.pitch_contour(out, rate)
    return scores.ncc_best_shift(a, b, max_shift), scores.dtw_corr(a, b), voiced


def seed_config(cfg: DictConfig, seed: int) -> DictConfig:
    """The run of training seed ``seed``: this run itself for ``run.seed``, else ``<run.name>-seed<seed>``."""
    out = cfg.copy()
    if seed != cfg.run.seed:
        out.run.name, out.run.seed = f"{cfg.run.name}-seed{seed}", seed
    return out


def evaluate(cfg: DictConfig) -> Path:
    """Train (or reuse) one model per ``eval.seeds`` (just ``ckpt`` if given), score each on the same test
    segments in ``eval.workers`` processes, and write the report over all of them."""
    eval_without_wandb(cfg)
    started = time.time()
    runs = [cfg] if cfg.ckpt else [seed_config(cfg, s) for s in cfg.eval.seeds]
    if not runs:
        raise ConfigError("eval.seeds is empty: give at least one training seed, e.g. eval.seeds=[0]")
    for run in runs:  # an existing run of another training config stops the eval before any work
        training.trained_checkpoint(run)
    root = data.ensure_synthetic(cfg)
    for domain in [*cfg.data.domains, *cfg.data.unseen_domains]:
        data.prepare_domain(cfg, domain, root)
    ensure_corpus("nsynth", cfg.eval.nsynth_root, cfg.eval.nsynth_size)
    out = Path(cfg.eval.out)
    out.mkdir(parents=True, exist_ok=True)
    rate, length = segment_length(cfg)
    refs = reference_segments(cfg, length)
    jobs = [(OmegaConf.to_container(c, resolve=True), i == 0, refs) for i, c in enumerate(runs)]
    with worker_pool(min(cfg.eval.workers, max(len(runs), len(refs["inputs"]) + 1)), cfg.log_level) as pool_map:
        found = list(pool_map(contours_of, [*refs["inputs"].values(), refs["unrelated"]], [rate] * (
            len(refs["inputs"]) + 1)))
        refs["contours"] = dict(zip(refs["inputs"], found))
        per_seed = list(pool_map(model_results, *zip(*jobs)))
    partners, shift = found[-1], max_shift_frames(rate)
    chance = {g: chance_scores([c for c, _ in refs["contours"][g]], partners, shift).tolist() for g in refs["inputs"]}
    results = {"seeds": [c.run.seed for c in runs], "per_seed": [{k: v for k, v in r.items() if k != "examples"}
                                                                  for r in per_seed]}
    results.update(pool_seeds(per_seed, chance))
    results["voiced_fraction_inputs"] = float(np.mean([v for g in refs["contours"].values() for _, v in g]))
    names = per_seed[0]["domains"]
    lineup_figure(np.array(results["lineup_confusion"]), names, out / "figure2_lineup.png")
    (out / "results.raw.json").write_text(json.dumps(results))
    report = build_report(cfg, results, names, per_seed[0]["examples"], per_seed[0]["rate"], time.time() - started)
    return write_report(report, out)


def pool_seeds(per_seed: list[dict], chance: dict[str, list]) -> dict:
    """The seeds' results on the same segments and notes: per-segment scores and per-pitch margins averaged over
    seeds, the model-independent chance scores beside them, lineup counts summed."""
    table2 = {g: {"translation": np.mean([r["table2"][g]["translation"] for r in per_seed], axis=0).tolist(),
                  "chance": chance[g],
                  "ceiling": None if per_seed[0]["table2"][g]["ceiling"] is None else
                  np.mean([r["table2"][g]["ceiling"] for r in per_seed], axis=0).tolist()}
              for g in per_seed[0]["table2"]}
    figure3 = {}
    for pair, first in per_seed[0]["figure3"].items():
        figure3[pair] = {"pitches": first["pitches"], **_mean_similarity([r["figure3"][pair] for r in per_seed]),
                         "centred": _mean_similarity([r["figure3"][pair]["centred"] for r in per_seed])}
    return {"table2": table2, "lineup_confusion": np.sum([r["lineup_confusion"] for r in per_seed], 0).tolist(),
            "figure3": figure3}


def _mean_similarity(summaries: list[dict]) -> dict:
    """:func:`scores.pitch_similarity` summaries of the same notes, averaged over models."""
    return {k: None if summaries[0][k] is None else np.mean([f[k] for f in summaries], axis=0).tolist()
            for k in ("diagonal_mean", "off_diagonal_mean", "diagonal", "margins")}


def model_results(container: dict, draw: bool, refs: dict) -> dict:
    """Job: train the run of ``container`` if it has no checkpoint, then score it on the shared test segments
    ``refs`` (:func:`reference_segments` with their contours): Table 2 per segment, the lineup counts, Figure 3's
    similarities (and, if ``draw``, the figures and audio examples)."""
    cfg = OmegaConf.create(container)
    module = inference.load_module(training.reuse_or_train(cfg))
    torch.manual_seed(cfg.eval.seed)
    rate, names = module.hparams.sample_rate, module.net.domains
    inputs = refs["inputs"]
    length = next(iter(inputs.values())).shape[1]
    # lineup sets: a test segment of each training domain in turn, decoded by every decoder
    k = len(cfg.data.domains)
    lineup = [(s % k, test_segments(cfg, [names[s % k]], 1, length, 1000 + s)[0]) for s in range(cfg.eval.lineup_sets)]
    segments = np.concatenate([*inputs.values(), np.array([seg for _, seg in lineup]).reshape(-1, length)])
    first = dict(zip(inputs, np.cumsum([0, *(len(v) for v in inputs.values())])))
    lineup_at = len(segments) - len(lineup)
    t = inference.domain_index(module, cfg.eval.target)
    jobs = {t: list(range(lineup_at))}  # every source group to the target domain
    for g in refs["groups"]:
        if g in names:  # the ceiling: a training domain through its own autoencoder
            jobs[names.index(g)] = list(range(first[g], first[g] + len(inputs[g])))
    for j in range(k):
        jobs.setdefault(j, []).extend(range(lineup_at, len(segments)))
    decoded = decode_all(module, segments, jobs, cfg)
    shift = max_shift_frames(rate)
    results = {"table2": {}, "domains": names[:k], "rate": rate}
    for g, contours in refs["contours"].items():
        n = len(inputs[g])
        translated = decoded[t][first[g]:first[g] + n]
        tr = [contour_scores(a, b, rate, shift) for (a, _), b in zip(contours, translated)]
        ceiling = None
        if g in names:
            ceiling = [contour_scores(a, b, rate, shift) for (a, _), b in zip(contours, decoded[names.index(g)][:n])]
        results["table2"][g] = {"translation": tr, "ceiling": ceiling}
    # lineup: features of every clip, classifier trained on real training audio
    clf_x, clf_y = [], []
    rng = np.random.default_rng(cfg.eval.seed)
    for j in range(k):
        for audio in to_audio(data.DomainAudio(cfg, names[j], "train").random_segments(rng, 40, length)):
            clf_x.append(scores.log_mel_stats(audio, rate))
            clf_y.append(j)
    classifier = scores.DomainClassifier(np.array(clf_x), np.array(clf_y), k, cfg.eval.classifier_steps)
    confusion = np.zeros((k, k), int)
    lineup_out = [decoded[j][len(decoded[j]) - len(lineup):] for j in range(k)]  # they close every decoder's job
    for s, (source, _) in enumerate(lineup):
        feats = np.array([scores.log_mel_stats(lineup_out[j][s], rate) for j in range(k)])
        confusion[source, scores.lineup_pick(classifier.probabilities(feats))] += 1
    results["lineup_confusion"] = confusion.tolist()
    results["figure3"] = embedding_figure(cfg, module, rate, Path(cfg.eval.out) if draw else None)
    results["examples"] = [(names[source], to_audio(seg),
                            {names[j]: lineup_out[j][s] for j in range(k)})
                           for s, (source, seg) in enumerate(lineup[:cfg.eval.examples if draw else 0])]
    return results
