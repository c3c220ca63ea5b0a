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

from common.audio import load_audio
from common.corpora import ensure_corpus
from common.errors import ConfigError
from common.lightning.config import eval_without_wandb
from common.mulaw import mu_law_decode, mu_law_encode
from common.parallel import worker_pool
from common.report import write_report
from music_translation import data, inference, scores, training
from music_translation.report import build_report


def test_segments(cfg: DictConfig, domains: list[str], n: int, length: int, seed: int) -> np.ndarray:
    """``n`` random test segments spread over ``domains``: (n, length) uint8 codes."""
    rng = np.random.default_rng(seed)
    counts = np.bincount(np.arange(n) % len(domains), minlength=len(domains))
    return np.concatenate([data.DomainAudio(cfg, d, "test").random_segments(rng, c, length)
                           for d, c in zip(domains, counts) if c])


def decode_all(module, jobs: dict[int, list[np.ndarray]], cfg: DictConfig) -> dict[int, list[np.ndarray]]:
    """Generate every decoder's streams as one batch: {decoder: [codes (T,)]} -> {decoder: [audio (T,)]}."""
    pool = module.net.model_args["pool"]
    chunk = max(1, round(cfg.translate.chunk_seconds * cfg.data.sample_rate / pool))
    out = {}
    for decoder, segments in jobs.items():
        codes = torch.from_numpy(np.stack(segments).astype(np.int64))
        latent = inference.encode(module, codes)
        gen = inference.generate(module, latent, decoder, chunk, cfg.eval.seed, cfg.translate.temperature,
                                 cfg.translate.backend, progress=True)[:, :codes.shape[1]]
        out[decoder] = list(mu_law_decode(gen).numpy())
    return out


def table2(cfg, module, rate, length):
    """Source groups -> per-item NCC/DTW of translation, chance and ceiling, and voiced fractions."""
    names, target = module.net.domains, cfg.eval.target
    t = inference.domain_index(module, target)
    seen = [d for d in cfg.data.domains if d != target]
    groups = {d: [d] for d in seen}
    if list(cfg.data.unseen_domains):
        groups["new domains (" + ", ".join(cfg.data.unseen_domains) + ")"] = list(cfg.data.unseen_domains)
    inputs = {g: test_segments(cfg, ds, cfg.eval.segments, length, cfg.eval.seed + i)
              for i, (g, ds) in enumerate(groups.items())}
    unrelated = test_segments(cfg, [target], cfg.eval.segments, length, cfg.eval.seed + 99)
    jobs: dict[int, list] = {t: [s for g in groups for s in inputs[g]]}
    for g in seen:
        jobs.setdefault(names.index(g), []).extend(inputs[g])
    return groups, inputs, unrelated, jobs


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
    root = data.ensure_synthetic(cfg)
    for domain in [*cfg.data.domains, *cfg.data.unseen_domains]:
        data.prepare_domain(cfg, domain, root)
    ensure_corpus("nsynth", cfg.eval.nsynth_root, cfg.eval.nsynth_size)
    runs = [cfg] if cfg.ckpt else [seed_config(cfg, s) for s in cfg.eval.seeds]
    if not runs:
        raise ConfigError("eval.seeds is empty: give at least one training seed, e.g. eval.seeds=[0]")
    out = Path(cfg.eval.out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(OmegaConf.to_container(c, resolve=True), i == 0) for i, c in enumerate(runs)]
    with worker_pool(min(cfg.eval.workers, len(runs)), cfg.log_level) as pool_map:
        per_seed = list(pool_map(model_results, *zip(*jobs)))
    results = {"seeds": [c.run.seed for c in runs], "per_seed": [{k: v for k, v in r.items() if k != "examples"}
                                                                  for r in per_seed]}
    results.update(pool_seeds(per_seed))
    names = per_seed[0]["domains"]
    lineup_figure(np.array(results["lineup_confusion"]), names, out / "figure2_lineup.png")
    (out / "results.raw.json").write_text(json.dumps(results))
    report = build_report(cfg, results, names, per_seed[0]["examples"], per_seed[0]["rate"], time.time() - started)
    return write_report(report, out)


def pool_seeds(per_seed: list[dict]) -> dict:
    """The seeds' results on the same segments and notes: per-segment scores and per-pitch margins averaged over
    seeds (chance does not depend on the model), lineup counts summed."""
    table2 = {g: {part: None if per_seed[0]["table2"][g][part] is None else
                  np.mean([r["table2"][g][part] for r in per_seed], axis=0).tolist()
                  for part in ("translation", "chance", "ceiling")} for g in per_seed[0]["table2"]}
    figure3 = {}
    for pair, first in per_seed[0]["figure3"].items():
        figure3[pair] = {"pitches": first["pitches"], **_mean_similarity([r["figure3"][pair] for r in per_seed]),
                         "centred": _mean_similarity([r["figure3"][pair]["centred"] for r in per_seed])}
    return {"table2": table2, "lineup_confusion": np.sum([r["lineup_confusion"] for r in per_seed], 0).tolist(),
            "figure3": figure3,
            "voiced_fraction_inputs": float(np.mean([r["voiced_fraction_inputs"] for r in per_seed]))}


def _mean_similarity(summaries: list[dict]) -> dict:
    """:func:`scores.pitch_similarity` summaries of the same notes, averaged over models."""
    return {k: None if summaries[0][k] is None else np.mean([f[k] for f in summaries], axis=0).tolist()
            for k in ("diagonal_mean", "off_diagonal_mean", "diagonal", "margins")}


def model_results(container: dict, draw: bool) -> dict:
    """Job: train the run of ``container`` if it has no checkpoint, then score it: Table 2 per segment, the
    lineup counts, Figure 3's similarities (and, if ``draw``, the figures and audio examples)."""
    cfg = OmegaConf.create(container)
    ckpt = training.checkpoint_path(cfg)
    if not ckpt.is_file():
        training.train(cfg)
    module = inference.load_module(ckpt)
    torch.manual_seed(cfg.eval.seed)
    rate, names = module.hparams.sample_rate, module.net.domains
    length = int(cfg.eval.segment_seconds * rate) // module.net.model_args["pool"] * module.net.model_args["pool"]
    out = Path(cfg.eval.out)
    groups, inputs, unrelated, jobs = table2(cfg, module, rate, length)
    # lineup sets: a test segment of each training domain in turn, decoded by every decoder
    k = len(cfg.data.domains)
    lineup = [(s % k, test_segments(cfg, [names[s % k]], 1, length, 1000 + s)[0]) for s in range(cfg.eval.lineup_sets)]
    lineup_start = {j: len(jobs.get(j, [])) for j in range(k)}
    for j in range(k):
        jobs.setdefault(j, []).extend(seg for _, seg in lineup)
    decoded = decode_all(module, jobs, cfg)
    max_shift = int(0.25 * rate / 128)  # pYIN hop: frame // 4 = 128 samples at 8 kHz (256 above)
    t = names.index(cfg.eval.target)
    results = {"table2": {}, "domains": names[:k], "rate": rate}
    position = 0
    for g in groups:
        n = len(inputs[g])
        translated = decoded[t][position:position + n]
        position += n
        audio_in = [mu_law_decode(torch.from_numpy(s.astype(np.int64))).numpy() for s in inputs[g]]
        chance_in = [mu_law_decode(torch.from_numpy(s.astype(np.int64))).numpy() for s in unrelated[:n]]
        contours = [scores.pitch_contour(a, rate)[0] for a in audio_in]
        tr = np.array([contour_scores(a, b, rate, max_shift) for a, b in zip(contours, translated)])
        ch = np.array([contour_scores(a, b, rate, max_shift) for a, b in zip(contours, chance_in)])
        ceiling = None
        if g in names:
            own = decoded[names.index(g)][:n]
            ceiling = np.array([contour_scores(a, b, rate, max_shift) for a, b in zip(contours, own)])
        results["table2"][g] = {"translation": tr.tolist(), "chance": ch.tolist(),
                                "ceiling": None if ceiling is None else ceiling.tolist()}
    # lineup: features of every clip, classifier trained on real training audio
    clf_x, clf_y = [], []
    rng = np.random.default_rng(cfg.eval.seed)
    for j in range(k):
        for seg in data.DomainAudio(cfg, names[j], "train").random_segments(rng, 40, length):
            clf_x.append(scores.log_mel_stats(mu_law_decode(torch.from_numpy(seg.astype(np.int64))).numpy(), rate))
            clf_y.append(j)
    classifier = scores.DomainClassifier(np.array(clf_x), np.array(clf_y), k, cfg.eval.classifier_steps)
    confusion = np.zeros((k, k), int)
    for s, (source, _) in enumerate(lineup):
        feats = np.array([scores.log_mel_stats(decoded[j][lineup_start[j] + s], rate) for j in range(k)])
        confusion[source, scores.lineup_pick(classifier.probabilities(feats))] += 1
    results["lineup_confusion"] = confusion.tolist()
    results["figure3"] = embedding_figure(cfg, module, rate, out if draw else None)
    results["examples"] = [(names[source], mu_law_decode(torch.from_numpy(seg.astype(np.int64))).numpy(),
                            {names[j]: decoded[j][lineup_start[j] + s] for j in range(k)})
                           for s, (source, seg) in enumerate(lineup[:cfg.eval.examples if draw else 0])]
    voiced_inputs = [scores.pitch_contour(mu_law_decode(torch.from_numpy(s.astype(np.int64))).numpy(), rate)[1]
                     for s in inputs[next(iter(groups))][:4]]
    results["voiced_fraction_inputs"] = float(np.mean(voiced_inputs))
    return results


def lineup_figure(confusion: np.ndarray, domains: list[str], path: Path) -> None:
    """The paper's Figure 2 for the automatic lineup: row = true source, column = picked clip, as a heatmap of
    row fractions with the counts written in the cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fractions = confusion / np.maximum(1, confusion.sum(1, keepdims=True))
    fig, ax = plt.subplots(figsize=(1.2 * len(domains) + 2, 1.1 * len(domains) + 1.2))
    ax.imshow(fractions, vmin=0, vmax=1, cmap="viridis")
    for (i, j), count in np.ndenumerate(confusion):
        ax.text(j, i, f"{count}", ha="center", va="center", color="w" if fractions[i, j] < 0.5 else "k")
    ax.set_xticks(range(len(domains)), domains, rotation=30)
    ax.set_yticks(range(len(domains)), domains)
    ax.set_xlabel("picked as the source")
    ax.set_ylabel("true source")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def embedding_figure(cfg: DictConfig, module, rate: int, out: Path | None) -> dict:
    """Figure 3: cosine similarities of time-averaged embeddings of each pair's notes (velocity 100), drawn to
    ``out`` unless None."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    root = ensure_corpus("nsynth", cfg.eval.nsynth_root, cfg.eval.nsynth_size)
    notes = {}
    for examples in root.glob("nsynth-*/examples.json"):
        for name, meta in json.loads(examples.read_text()).items():
            if meta["velocity"] == 100:
                notes.setdefault(meta["instrument_str"], {})[meta["pitch"]] = examples.parent / "audio" / f"{name}.wav"

    def embed(instrument, pitches):
        codes = torch.stack([mu_law_encode(torch.from_numpy(load_audio(notes[instrument][p], rate)[:rate * 2]))
                             for p in pitches])
        return inference.encode(module, codes).mean(-1).numpy()

    pairs = [p.split(":") for p in cfg.eval.nsynth_pairs if all(i in notes for i in p.split(":"))]
    fig, axes = plt.subplots(len(pairs), 4, figsize=(13, 3.3 * len(pairs)), squeeze=False)
    summary = {}
    for row, (a, b) in enumerate(pairs):
        # pitch grids of two instruments may be offset: pair each of a's pitches with b's nearest within 1
        pitches = [(p, min(notes[b], key=lambda q, p=p: abs(q - p))) for p in sorted(notes[a])]
        pitches = [(p, q) for p, q in pitches if abs(p - q) <= 1]
        ea, eb = embed(a, [p for p, _ in pitches]), embed(b, [q for _, q in pitches])
        # centred: minus the mean embedding of all these notes, so a component shared by every note (which
        # makes raw cosines of a small latent all near 1) does not hide how the rest varies with pitch
        centre = np.concatenate([ea, eb]).mean(0)
        mats = {f"{a} self": scores.cosine_matrix(ea, ea), f"{b} self": scores.cosine_matrix(eb, eb),
                f"{b} (y) vs {a}": scores.cosine_matrix(eb, ea),
                f"{b} (y) vs {a}, centred": scores.cosine_matrix(eb - centre, ea - centre)}
        for ax, (title, m) in zip(axes[row], mats.items()):
            ax.imshow(m, origin="lower", vmin=-1, vmax=1, cmap="viridis")
            ax.set_title(title, fontsize=8)
            ax.set_xlabel("pitch index")
        summary[f"{a}:{b}"] = {"pitches": pitches, **scores.pitch_similarity(mats[f"{b} (y) vs {a}"]),
                               "centred": scores.pitch_similarity(mats[f"{b} (y) vs {a}, centred"])}
    if out is not None:
        fig.tight_layout()
        fig.savefig(out / "figure3_embeddings.png", dpi=90)
    plt.close(fig)
    return summary
