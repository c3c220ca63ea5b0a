"""One model's share of ``eval`` (a job of ``evaluate``): train it if need be, then decode the shared test
segments and held-out inputs and score them: Table 2 per segment, the lineup's test and control picks, Figure
3's cross-instrument similarities and the "On new inputs" rows."""

from __future__ import annotations

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from common.mulaw import mu_law_decode, mu_law_encode
from music_translation import data, inference, lineup, newinputs, scores, training
from music_translation.figures import embedding_figure

TABLE2_SHIFT = 0.25  # seconds: the best NCC shift is searched within +-0.25 s


def to_audio(codes: np.ndarray) -> np.ndarray:
    """uint8 mu-law codes (..., T) -> float audio (..., T)."""
    return mu_law_decode(torch.from_numpy(np.asarray(codes).astype(np.int64))).numpy()


def test_segments(cfg: DictConfig, domains: list[str], n: int, length: int, seed, split: str = "test") -> np.ndarray:
    """``n`` random segments of ``split`` spread over ``domains``: (n, length) uint8 codes."""
    rng = np.random.default_rng(seed)
    counts = np.bincount(np.arange(n) % len(domains), minlength=len(domains))
    return np.concatenate([data.DomainAudio(cfg, d, split).random_segments(rng, c, length)
                           for d, c in zip(domains, counts) if c])


def decode(module, codes: np.ndarray, jobs: dict[int, list[int]], cfg: DictConfig) -> dict[int, np.ndarray]:
    """Encode the segments ``codes`` (n, T) once, then generate each decoder's share as one batch:
    {decoder: [segment index]} -> {decoder: audio (len(index), T)}."""
    pool = module.net.model_args["pool"]
    chunk = max(1, round(cfg.translate.chunk_seconds * module.hparams.sample_rate / pool))
    codes = torch.from_numpy(np.asarray(codes).astype(np.int64))
    latent = torch.cat([inference.encode(module, part) for part in codes.split(16)])
    return {d: mu_law_decode(inference.generate(module, latent[index], d, chunk, cfg.eval.seed,
                                                cfg.translate.temperature, cfg.translate.backend)
                             [:, :codes.shape[1]]).numpy() for d, index in jobs.items() if index}


def table2(module, cfg: DictConfig, refs: dict) -> dict:
    """Per source group and segment: ``scores.MEASURES`` of the translation to ``eval.target``, the chance scores
    of the same output's voicing, and (training domains) the same measures of the source's own autoencoder."""
    names, rate = module.net.domains, module.hparams.sample_rate
    groups = list(refs["inputs"])
    segments = np.concatenate([refs["inputs"][g] for g in groups])
    first = dict(zip(groups, np.cumsum([0, *(len(refs["inputs"][g]) for g in groups)])))
    t = inference.domain_index(module, cfg.eval.target)
    jobs = {t: list(range(len(segments)))}
    for g in groups:
        if g in names:
            jobs.setdefault(names.index(g), []).extend(range(first[g], first[g] + len(refs["inputs"][g])))
    decoded = decode(module, segments, jobs, cfg)
    shift = scores.frames_of(TABLE2_SHIFT)
    out = {}
    for g in groups:
        n, ref = len(refs["inputs"][g]), refs["contours"][g]
        translated = [scores.contour(a, rate) for a in decoded[t][first[g]:first[g] + n]]
        out[g] = {"translation": [scores.pitch_scores(a, b, shift) for a, b in zip(ref, translated)],
                  "chance": [scores.chance_scores(a, b, refs["partners"], shift) for a, b in zip(ref, translated)],
                  "ceiling": None}
        if g in names:
            own = decoded[names.index(g)]
            start = jobs[names.index(g)].index(first[g])
            out[g]["ceiling"] = [scores.pitch_scores(a, scores.contour(b, rate), shift)
                                 for a, b in zip(ref, own[start:start + n])]
    return out


def lineup_results(module, cfg: DictConfig, classifier: lineup.DomainClassifier, draw: bool) -> dict:
    """The lineup's test and control confusions (true source x picked clip) over ``eval.lineup_sets`` sets of
    test segments, the picker calibrated on ``eval.calibration_segments`` validation segments per domain and
    the shared ``classifier``; and, if ``draw``, the first ``eval.examples`` sets as audio examples."""
    names, rate = module.net.domains, module.hparams.sample_rate
    k, pool = len(cfg.data.domains), module.net.model_args["pool"]
    length = int(cfg.eval.lineup_seconds * rate) // pool * pool
    sets = [(s % k, test_segments(cfg, [names[s % k]], 1, length, [cfg.eval.seed, 1000 + s])[0])
            for s in range(cfg.eval.lineup_sets)]
    calibration = [(j, seg) for j in range(k) for seg in test_segments(
        cfg, [names[j]], cfg.eval.calibration_segments, length, [cfg.eval.seed, 2000 + j], "val")]
    everything = [*sets, *calibration]
    segments = np.array([seg for _, seg in everything])
    decoded = decode(module, segments, {j: list(range(len(segments))) for j in range(k)}, cfg)
    own = np.stack([lineup.own_domain_scores(classifier, list(decoded[j]), [j] * len(segments), rate)
                    for j in range(k)], 1)  # (segments, decoders)
    real = lineup.own_domain_scores(classifier, list(to_audio(segments)), [d for d, _ in everything], rate)
    domain = np.array([d for d, _ in everything])
    cal = np.arange(len(sets), len(everything))
    mine = own[cal, domain[cal]]
    others = np.array([(own[i, j], j) for i in cal for j in range(k) if j != domain[i]])
    recon = lineup.calibrate(mine, others[:, 0], domain[cal], others[:, 1].astype(int), k)
    authentic = lineup.calibrate(real[cal], others[:, 0], domain[cal], others[:, 1].astype(int), k)
    test, control = np.zeros((k, k), int), np.zeros((k, k), int)
    for i, (source, _) in enumerate(sets):
        test[source, lineup.pick(own[i], recon)] += 1
        with_real = own[i].copy()
        with_real[source] = real[i]
        control[source, lineup.pick(with_real, authentic)] += 1
    examples = [(names[source], to_audio(seg), {names[j]: decoded[j][i] for j in range(k)})
                for i, (source, seg) in enumerate(sets[:cfg.eval.examples if draw else 0])]
    return {"test": test.tolist(), "control": control.tolist(), "examples": examples}


def new_inputs(module, cfg: DictConfig, refs: dict) -> list[dict]:
    """The held-out melodies of ``refs["heldout"]`` translated to ``eval.target``: one row per input source."""
    rate, clips = module.hparams.sample_rate, refs["heldout"]
    n = max(len(c["audio"]) for c in clips)
    pool = module.net.model_args["pool"]
    n = -(-n // pool) * pool
    codes = mu_law_encode(torch.from_numpy(np.stack([np.pad(c["audio"], (0, n - len(c["audio"]))) for c in clips])))
    out = decode(module, codes.numpy(), {inference.domain_index(module, cfg.eval.target): list(range(len(clips)))},
                 cfg).popitem()[1]
    measured = [{**c, "measures": newinputs.clip_measures(c["contour"], o[:len(c["audio"])], rate)}
                for c, o in zip(clips, out)]
    return newinputs.rows_of(measured, refs["reference_flatness"], {"seed": cfg.run.seed, "threads": cfg.threads})


def model_results(container: dict, draw: bool, refs: dict) -> dict:
    """Job: train the run of ``container`` if it has no checkpoint (under its ``threads``), then score it on the
    shared segments ``refs`` (see ``evaluate.references``); ``draw``: also the figures and audio examples."""
    cfg = OmegaConf.create(container)
    torch.set_num_threads(max(1, cfg.threads))
    module = inference.load_module(training.reuse_or_train(cfg))
    torch.manual_seed(cfg.eval.seed)
    names = module.net.domains
    results = {"seed": cfg.run.seed, "threads": cfg.threads, "domains": names[:len(cfg.data.domains)],
               "rate": module.hparams.sample_rate, "table2": table2(module, cfg, refs),
               "lineup": lineup_results(module, cfg, refs["classifier"], draw),
               "new_inputs": new_inputs(module, cfg, refs)}
    results["figure3"] = embedding_figure(cfg, module, results["rate"], cfg.eval.out if draw else None)
    return results
