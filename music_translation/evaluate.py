"""``python -m music_translation eval``: the paper's automatic experiments on held-out test audio, and the
default models on held-out inputs.

Table 2: pitch contours (pYIN, ``common.pitch``) of each input and its translation by the ``eval.target``
decoder, compared on the frames voiced in both (NCC at the best shift, correlation after DTW, raw pitch
accuracy), voicing apart, beside the voicing-matched chance and the source's own autoencoder (ceiling). Figure 2
made automatic: a calibrated picker on lineup sets, with a control. Figure 3 as a rank statistic over the
cross-instrument similarities of NSynth stand-in notes. "On new inputs": held-out melodies translated to the
target domain. One model per ``eval.seeds`` x ``eval.threads`` (see ``experiments.model_results``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from common.corpora import ensure_corpus
from common.errors import ConfigError
from common.lightning.config import eval_training_logs
from common.parallel import map_by_threads, worker_pool
from common.report import write_report
from music_translation import claims, data, inference, lineup, newinputs, scores, training
from music_translation.experiments import model_results, test_segments, to_audio
from music_translation.figures import lineup_figure
from music_translation.report import build_report


def run_config(cfg: DictConfig, seed: int, threads: int) -> DictConfig:
    """The run of training seed ``seed`` under ``threads`` torch threads: this run itself for ``run.seed`` and the
    first of ``eval.threads``, else ``<run.name>-seed<seed>`` (that first setting) or
    ``<run.name>-seed<seed>-threads<threads>``."""
    out, first = cfg.copy(), cfg.eval.threads[0]
    out.threads = threads
    if (seed, threads) != (cfg.run.seed, first):
        out.run.name = f"{cfg.run.name}-seed{seed}" + (f"-threads{threads}" if threads != first else "")
        out.run.seed = seed
    return out


def rate_and_pool(cfg: DictConfig) -> tuple[int, int]:
    """(sample rate in Hz, samples per latent frame), from the checkpoint with ``ckpt=``, else from this config."""
    if cfg.ckpt:
        hparams = inference.load_module(cfg.ckpt).hparams
        return hparams.sample_rate, hparams.model["pool"]
    return cfg.data.sample_rate, cfg.model.pool


def contours_of(codes: np.ndarray, rate: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Job: the pYIN contour of each segment of ``codes`` (n, T) uint8."""
    return [scores.contour(a, rate) for a in to_audio(codes)]


def references(cfg: DictConfig, rate: int, pool: int, pool_map) -> dict:
    """The model-independent inputs every model is scored on: Table 2's test segments per source group and their
    contours, unrelated target-domain segments (chance partners) and theirs, the lineup's domain classifier, the
    held-out melodies and the flatness of real target-domain audio."""
    length = int(cfg.eval.segment_seconds * rate) // pool * pool
    groups = {d: [d] for d in cfg.data.domains if d != cfg.eval.target}
    if list(cfg.data.unseen_domains):
        groups["new domains (" + ", ".join(cfg.data.unseen_domains) + ")"] = list(cfg.data.unseen_domains)
    inputs = {g: test_segments(cfg, ds, cfg.eval.segments, length, cfg.eval.seed + i)
              for i, (g, ds) in enumerate(groups.items())}
    unrelated = test_segments(cfg, [cfg.eval.target], cfg.eval.segments, length, cfg.eval.seed + 99)
    found = list(pool_map(contours_of, [*inputs.values(), unrelated], [rate] * (len(inputs) + 1)))
    return {"inputs": inputs, "contours": dict(zip(inputs, found)), "partners": found[-1],
            "classifier": domain_classifier(cfg, rate, int(cfg.eval.lineup_seconds * rate) // pool * pool),
            "heldout": newinputs.render_inputs(rate, list(cfg.eval.heldout_seeds), list(cfg.eval.heldout_sources),
                                               cfg.data.cache),
            "reference_flatness": newinputs.reference_flatness(unrelated, rate)}


def domain_classifier(cfg: DictConfig, rate: int, length: int) -> lineup.DomainClassifier:
    """The lineup's domain classifier, trained on 40 real training segments of ``length`` per domain."""
    rng = np.random.default_rng(cfg.eval.seed)
    x, y = [], []
    for j, name in enumerate(cfg.data.domains):
        for audio in to_audio(data.DomainAudio(cfg, name, "train").random_segments(rng, 40, length)):
            x.append(lineup.log_mel_stats(audio, rate))
            y.append(j)
    return lineup.DomainClassifier(np.array(x), np.array(y), len(cfg.data.domains), cfg.eval.classifier_steps)


def evaluate(cfg: DictConfig) -> Path:
    """Train (or reuse) one model per seed and thread setting (just ``ckpt`` if given), score each on the same
    segments (the one-thread models in ``eval.workers`` processes, then each other alone: ``map_by_threads``),
    and write the report over all of them."""
    eval_training_logs(cfg)
    started = time.time()
    runs = [cfg] if cfg.ckpt else [run_config(cfg, s, t) for s in cfg.eval.seeds for t in cfg.eval.threads]
    if not runs:
        raise ConfigError("eval.seeds or eval.threads is empty: give at least one, e.g. eval.seeds=[0]")
    for run in runs:  # an existing run of another training config stops the eval before any work
        training.trained_checkpoint(run)
    root = data.ensure_synthetic(cfg)
    for domain in [*cfg.data.domains, *cfg.data.unseen_domains]:
        data.prepare_domain(cfg, domain, root)
    ensure_corpus("nsynth", cfg.eval.nsynth_root, cfg.eval.nsynth_size)
    out = Path(cfg.eval.out)
    out.mkdir(parents=True, exist_ok=True)
    rate, pool = rate_and_pool(cfg)
    with worker_pool(min(cfg.eval.workers, len(runs)), cfg.log_level) as pool_map:
        refs = references(cfg, rate, pool, pool_map)
        jobs = [(OmegaConf.to_container(c, resolve=True), i == 0, refs) for i, c in enumerate(runs)]
        per_model = map_by_threads(pool_map, model_results, jobs, [c.threads for c in runs], cfg.eval.workers,
                                   cfg.log_level, side_by_side=False)  # a WaveNet's small ops: alone is faster
    results = pool_models(per_model)
    results["voiced_fraction_inputs"] = float(np.mean([np.mean(f > 0) for c in refs["contours"].values()
                                                       for _, f in c]))
    results["reference_flatness"] = refs["reference_flatness"]
    names = per_model[0]["domains"]
    lineup_figure(np.array(results["lineup"]["test"]), names, out / "figure2_lineup.png")
    (out / "results.raw.json").write_text(json.dumps(results))
    report = build_report(cfg, results, names, per_model[0]["lineup"]["examples"], per_model[0]["rate"],
                          time.time() - started)
    return write_report(report, out)


def pool_models(per_model: list[dict]) -> dict:
    """The models' results on the same segments: per-segment Table 2 scores averaged over the models (chance too:
    it depends on each output's voicing), lineup counts summed, Figure 3's rank statistics over every model's
    cross-instrument matrix, and every model's "On new inputs" rows."""
    def mean(key, group):
        values = [m["table2"][group][key] for m in per_model]
        return None if values[0] is None else np.mean(values, axis=0).tolist()

    table2 = {g: {key: mean(key, g) for key in ("translation", "chance", "ceiling")} for g in per_model[0]["table2"]}
    figure3 = {}
    for pair, first in per_model[0]["figure3"].items():
        crosses = [np.array(m["figure3"][pair]["cross"]) for m in per_model]
        figure3[pair] = {"pitches": first["pitches"], "cross": np.mean(crosses, 0).tolist(),
                         **claims.rank_statistics(crosses)}
    return {"models": [{"seed": m["seed"], "threads": m["threads"]} for m in per_model],
            "per_model": [{"seed": m["seed"], "threads": m["threads"], "table2": m["table2"],
                           "lineup": {k: m["lineup"][k] for k in ("test", "control")},
                           "figure3": {p: f["cross"] for p, f in m["figure3"].items()}} for m in per_model],
            "table2": table2, "figure3": figure3,
            "lineup": {k: np.sum([m["lineup"][k] for m in per_model], 0).tolist() for k in ("test", "control")},
            "new_inputs_rows": [row for m in per_model for row in m["new_inputs"]]}
