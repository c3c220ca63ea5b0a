"""``python -m gmvae_timbre eval``: trains what is missing (M_VAE and M_GMVAE at every N, the CNN baselines,
for every seed of ``eval.seeds``) and writes Table 1, Figures 2-3, the timbre-transfer posterior shift and
audio examples to ``eval.out`` through ``common.report``."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from common.lightning.config import eval_without_wandb
from common.parallel import worker_pool
from common.report import (
    Claim,
    Figure,
    Headline,
    Report,
    Section,
    Table,
    write_report,
)
from gmvae_timbre import data, experiments, figures, training, transfer_report

log = logging.getLogger(__name__)

KINDS = ("vae", "gmvae")
# Table 1 of the paper: F-scores by N; instrument (CNN, VAE z_t, VAE z_p, GMVAE z_t, GMVAE z_p), pitch (same)
PAPER_TABLE1 = {
    0: ((None, 0.960, 0.163, 0.937, 0.175), (None, 0.112, 0.966, 0.146, 0.960)),
    25: ((0.920, 0.960, 0.192, 0.971, 0.180), (None, 0.169, 0.966, 0.084, 0.977)),
    50: ((0.983, 0.971, 0.169, 0.988, 0.186), (None, 0.158, 0.977, 0.079, 0.977)),
    75: ((1.000, 0.971, 0.169, 1.000, 0.163), (None, 0.079, 0.971, 0.045, 0.977)),
    100: ((1.000, 0.937, 0.158, 1.000, 0.197), (0.983, 0.039, 0.983, 0.028, 0.966)),
}


def _eval_cfg(cfg: DictConfig) -> DictConfig:
    """The models eval trains need only their final weights: no resuming, no validation passes, no rendered
    audio examples (Griffin-Lim at every validation) and no best checkpoint; ``train`` keeps all of them."""
    out = cfg.copy()
    out.ckpt_path = None
    out.trainer.limit_val_batches = 0.0
    out.trainer.num_sanity_val_steps = 0
    out.trainer.monitor = None
    out.logger.examples_every_n_epochs = 0
    return out


def _jobs(cfg: DictConfig) -> list[tuple]:
    """Every model the evaluation needs, the slowest first: ``("vae"|"gmvae", N, seed)``,
    ``("cnn-instrument", N, seed)`` (N > 0 and 100, for the CNN scores of synthesis and transfer) and
    ``("cnn-pitch", seed)``."""
    e = cfg.eval
    models = [(kind, n, seed) for seed in e.seeds for n in e.label_fractions for kind in KINDS]
    cnns = [("cnn-instrument", n, seed) for seed in e.seeds for n in sorted(set(e.label_fractions) | {100}) if n > 0]
    return models + cnns + [("cnn-pitch", seed) for seed in e.seeds]


def _train_job(container: dict, job: tuple) -> str:
    """Train (or reuse) one model of :func:`_jobs` from a plain config; returns its last.ckpt."""
    cfg = OmegaConf.create(container)
    if job[0] in KINDS:
        return str(training.train_model(cfg, job[0], job[1], job[2], data.load_notes(cfg, job[1])))
    if job[0] == "cnn-instrument":
        return str(training.train_classifier(cfg, "instrument", job[1], job[2], cfg.eval.cnn_max_steps,
                                             data.load_notes(cfg, job[1])))
    return str(training.train_classifier(cfg, "pitch", 100, job[1], cfg.eval.cnn_max_steps,
                                         data.load_notes(cfg, 100)))


def train_all(cfg: DictConfig, run: Callable) -> dict:
    """Every model of :func:`_jobs`, through ``run`` (``map`` of :func:`common.parallel.worker_pool`; a model's
    weights do not depend on the process it trains in) -> {job: module in eval mode}."""
    data.prepare(cfg)  # the feature cache exists before the workers start
    jobs, container = _jobs(cfg), OmegaConf.to_container(cfg, resolve=True)
    paths = run(_train_job, [container] * len(jobs), jobs)
    return {job: (training.load_model(path) if job[0] in KINDS else training.load_classifier(path))
            for job, path in zip(jobs, paths)}


def timbre_embeddings(codes: dict, models: dict, seed: int, run: Callable):
    """Figure 2's t-SNE of every model of training seed ``seed``, started through ``run`` -> (keys (kind, N), an
    iterator of their (codes 2-D, means 2-D | None), computed in the workers while the caller goes on)."""
    keys = sorted(k for k in codes if k[2] == seed)
    means = [models[k].model.timbre_prior.means.detach().numpy() if k[0] == "gmvae" else None for k in keys]
    return [k[:2] for k in keys], run(experiments.timbre_tsne, [codes[k]["z_t"] for k in keys], means)


def _decided(d: tuple, sign: int) -> bool:
    """An ordering in direction ``sign`` holds when the item-bootstrap interval of the seed-averaged difference
    excludes 0 on that side and every training seed's own difference has that sign."""
    mean, low, high, per_seed = d
    return bool(low > 0 and (per_seed > 0).all()) if sign > 0 else bool(high < 0 and (per_seed < 0).all())


def _text(d: tuple) -> str:
    return f"{d[0]:+.3f} [{d[1]:+.3f}, {d[2]:+.3f}], seeds {' '.join(f'{v:+.2f}' for v in d[3])}"


def table1(cfg: DictConfig, notes: data.SolNotes, models: dict, codes: dict) -> tuple[Section, dict, list[Claim]]:
    """Linear probes on z_t / z_p and the CNNs: F-scores with intervals over the training seeds, and the
    paper's orderings decided on paired differences (over the validation notes and over the seeds)."""
    e, seeds, train = cfg.eval, cfg.eval.seeds, notes.train
    truth = {"instrument": notes.instrument, "pitch": notes.pitch}
    preds = {}  # (target, system, N) -> [predictions per seed]
    for target, labels in truth.items():
        for (kind, n, _), z in sorted(codes.items()):
            for space in ("z_t", "z_p"):
                preds.setdefault((target, f"{kind} {space}", n), []).append(
                    experiments.linear_probe(z[space], labels, train))
        for n in e.label_fractions:
            for seed in seeds:
                key = ("cnn-instrument", n, seed) if target == "instrument" else ("cnn-pitch", seed)
                if key in models:
                    preds.setdefault((target, "cnn", n), []).append(
                        experiments.classify(models[key], notes.x[notes.val]).argmax(-1))
    val_truth = {t: labels[notes.val] for t, labels in truth.items()}
    scores = {f"{t}|{s}|{n}": experiments.seed_interval([experiments.f_score(val_truth[t], q) for q in p])
              for (t, s, n), p in preds.items()}
    systems = ["cnn", "vae z_t", "vae z_p", "gmvae z_t", "gmvae z_p"]
    rows = []
    for n in e.label_fractions:
        for target, paper in zip(("instrument", "pitch"), PAPER_TABLE1.get(n, ((None,) * 5,) * 2)):
            row = [n, target]
            for system, paper_value in zip(systems, paper):
                score = scores.get(f"{target}|{system}|{n}")
                row += [f"{score[0]:.3f} [{score[1]:.2f}, {score[2]:.2f}]" if score else None, paper_value]
            rows.append(row)
    columns = ["N %", "task"] + [c for s in systems for c in (f"{s} ours", f"{s} paper")]
    verdicts, claims = [], []

    def verdict(name: str, target: str, a: str, b: str, n: int, sign: int, n_b: int | None = None) -> tuple:
        """(mean, low, high, per-seed differences) of F1(a at N=n) - F1(b at N=n_b), recorded in the table."""
        pa, pb = preds[(target, a, n)], preds[(target, b, n if n_b is None else n_b)]
        mean, low, high, _ = experiments.paired_f_score_diff(val_truth[target], pa, pb, e.bootstrap)
        d = (mean, low, high, experiments.per_seed_differences(val_truth[target], pa, pb))
        verdicts.append([name, n if n_b is None else f"{n} vs {n_b}", f"{mean:+.3f}", f"[{low:+.3f}, {high:+.3f}]",
                         " ".join(f"{v:+.3f}" for v in d[3]), _decided(d, sign)])
        return d

    fractions = list(e.label_fractions)
    for text, target, better, worse in (("z_t beats z_p for instrument", "instrument", "z_t", "z_p"),
                                        ("z_p beats z_t for pitch", "pitch", "z_p", "z_t")):
        held = [_decided(verdict(f"{kind}: {better} - {worse}, {target}", target, f"{kind} {better}",
                                 f"{kind} {worse}", n, 1), 1) for kind in KINDS for n in fractions]
        claims.append(Claim(claim=f"{text} (both models, every N)", holds=all(held),
                            evidence=f"decided at {sum(held)} of {len(held)} (model, N); see the verdict table"))
    low, high = min(fractions), max(fractions)
    trend = {kind: verdict(f"{kind}: z_t instrument F1, N={high} - N={low}", "instrument", f"{kind} z_t",
                           f"{kind} z_t", high, 1, low) for kind in KINDS}
    claims.append(Claim(claim="M_GMVAE's z_t improves with N while M_VAE's does not",
                        holds=_decided(trend["gmvae"], 1) and not _decided(trend["vae"], 1),
                        evidence=f"instrument F1 change N={low}->{high}: M_GMVAE {_text(trend['gmvae'])}; M_VAE "
                                 f"{_text(trend['vae'])}"))
    disc = {n: verdict("gmvae z_t - vae z_t, instrument", "instrument", "gmvae z_t", "vae z_t", n, 1)
            for n in fractions}
    pitchy = {n: verdict("gmvae z_t - vae z_t, pitch (lower = less pitch)", "pitch", "gmvae z_t", "vae z_t", n, -1)
              for n in fractions}
    if 0 in fractions:
        claims.append(Claim(claim="at N = 0 the order reverses (the paper's own table: M_VAE's z_t is the more "
                                  "discriminative and the less pitch-informative)",
                            holds=_decided(disc[0], -1) and _decided(pitchy[0], 1),
                            evidence=f"M_GMVAE - M_VAE at N=0: inst {_text(disc[0])}; pitch {_text(pitchy[0])}"))
    supervised = [n for n in fractions if n >= 25]
    claims.append(Claim(claim="for N >= 25, M_GMVAE's timbre space is more discriminative (instrument F1) and less "
                              "pitch-informative (pitch F1) than M_VAE's",
                        holds=bool(supervised) and all(_decided(disc[n], 1) and _decided(pitchy[n], -1)
                                                       for n in supervised),
                        evidence="; ".join(f"N={n}: inst {_text(disc[n])}, pitch {_text(pitchy[n])}"
                                           for n in supervised)))
    below = [n for n in fractions if 0 < n < 75]  # at N = 0 there is no instrument CNN
    beats = {n: verdict("gmvae z_t - instrument CNN, instrument", "instrument", "gmvae z_t", "cnn", n, 1)
             for n in below}
    if below:
        claims.append(Claim(claim="M_GMVAE's z_t beats the instrument CNN when N < 75",
                            holds=all(_decided(b, 1) for b in beats.values()),
                            evidence="; ".join(f"N={n}: {_text(b)}" for n, b in beats.items())))
    section = Section(
        title="Table 1: linear classifiers on z_t / z_p and the CNN baselines",
        text=(f"Macro F1 on the {int(notes.val.sum())} validation notes: mean over training seeds {list(seeds)} "
              "with its 95% Student-t interval over the seeds. Linear classifiers: scikit-learn logistic "
              "regression on the standardised posterior means of the training notes (all their labels). The "
              "instrument CNN learns from the same N % of labels as the row (none at N = 0); the pitch CNN from "
              "all pitch labels. Verdicts: paired differences F1(a) - F1(b) on the same validation notes; the "
              "interval is a percentile bootstrap over the notes of the seed-averaged difference (each resample "
              "keeps the notes paired across systems and seeds), and 'decided' needs that interval to exclude 0 "
              "in the claimed direction and every seed's own difference to have the claimed sign."),
        tables=[Table(columns=columns, rows=rows, caption="F-scores, ours [95% CI over seeds] beside the paper's",
                      digits=3),
                Table(columns=["comparison", "N %", "difference", "95% CI (notes)", "per seed", "decided"],
                      rows=verdicts, caption="paired F1 differences")])
    return section, {k: list(v) for k, v in scores.items()}, claims


def evaluate(cfg: DictConfig) -> Path:
    eval_without_wandb(cfg)
    started = time.perf_counter()
    cfg = _eval_cfg(cfg)
    e = cfg.eval
    out = Path(e.out)
    out.mkdir(parents=True, exist_ok=True)
    notes = data.load_notes(cfg, 100)
    with worker_pool(e.workers, cfg.log_level) as run:
        models = train_all(cfg, run)
        codes = {key: experiments.latents(m, notes.x) for key, m in models.items() if key[0] in KINDS}
        seed = e.seeds[0]
        keys, embedded = timbre_embeddings(codes, models, seed, run)
        table, table_scores, claims = table1(cfg, notes, models, codes)  # here, while the workers embed
        embeddings = dict(zip(keys, embedded))
    figures.timbre_space(out / "figure2_tsne.png", embeddings, notes)
    fig2 = Section(title="Figure 2: t-SNE of the timbre space", text=(
        f"Posterior means z_t of all {len(notes.paths)} notes (seed {seed}), coloured by instrument; crosses: the "
        "M_GMVAE mixture means embedded with them. Top row M_VAE, bottom row M_GMVAE, N left to right."),
        figures=[Figure("figure2_tsne.png", "timbre space, M_VAE (top) and M_GMVAE (bottom)")])

    supervised = [n for n in e.label_fractions if n > 0]
    synthesis = {}
    for n in supervised:
        for w in e.synthesis_weights:
            runs = [experiments.synthesis_scores(models[("gmvae", n, s)], notes, models[("cnn-instrument", 100, s)],
                                                 models[("cnn-pitch", s)], w, e.synthesis_draws, s) for s in e.seeds]
            synthesis[f"{n}|{w:g}"] = {t: float(np.mean([r[t] for r in runs])) for t in ("instrument", "pitch")}
    figures.synthesis(out / "figure3_synthesis.png", synthesis, supervised, list(e.synthesis_weights))
    fig3 = Section(title="Figure 3: controllable synthesis", text=(
        f"z_t ~ N(mu_k, w I), z_p ~ N(mu_m, w e^-4 I) for every validation note's instrument k and pitch m, "
        f"{e.synthesis_draws} draws each, decoded and classified by the CNNs trained with all labels; macro F1, "
        "mean over seeds. The paper gives this figure only as a plot (no numbers in the text)."),
        tables=[Table(columns=["N %", "w", "instrument F1", "pitch F1"],
                      rows=[[n, w, synthesis[f"{n}|{w:g}"]["instrument"], synthesis[f"{n}|{w:g}"]["pitch"]]
                            for n in supervised for w in e.synthesis_weights], digits=3)],
        figures=[Figure("figure3_synthesis.png", "F-scores of synthesized notes")])
    claims.append(Claim(
        claim="larger w degrades the synthesis F-scores",
        holds=all(synthesis[f"{n}|{max(e.synthesis_weights):g}"]["instrument"]
                  <= synthesis[f"{n}|{min(e.synthesis_weights):g}"]["instrument"] for n in supervised),
        evidence="instrument F1 at the largest w vs w = 0 for every N (point estimates over the seeds)"))

    transfer_section, transfer_results, transfer_claim = transfer_report.section(cfg, notes, models, out)
    claims.append(transfer_claim)
    examples = transfer_report.audio_examples(cfg, notes, models)
    gm = table_scores
    headline = [Headline(name=f"inst F1, M_GMVAE z_t, N={n}", ours=gm[f"instrument|gmvae z_t|{n}"][0],
                         paper=PAPER_TABLE1[n][0][3], digits=3) for n in (0, 100) if n in e.label_fractions]
    report = Report(
        package="gmvae_timbre",
        title="gmvae_timbre: Luo, Agres & Herremans (ISMIR 2019), disentangled timbre and pitch with a GMVAE",
        summary=(f"{len(notes.paths)} notes of {len(notes.instruments)} instruments and {len(notes.pitches)} pitches "
                 f"(SOL at {data.sol_root(cfg)}), 90/10 split by instrument; M_VAE and M_GMVAE at N = "
                 f"{list(e.label_fractions)} % of instrument labels, {cfg.trainer.max_steps} steps each, CNN "
                 f"baselines {e.cnn_max_steps} steps, seeds {list(e.seeds)}; networks "
                 f"{cfg.model.channels} channels / {cfg.model.hidden} units, Adam lr {cfg.optim.lr:g}, batch "
                 f"{cfg.data.batch_size}."),
        sections=[table, fig2, fig3, transfer_section], claims=claims, headline=headline, examples=examples,
        notes=differences(cfg), seconds=time.perf_counter() - started,
        results={"table1": table_scores, "synthesis": synthesis, "transfer": transfer_results,
                 "config": OmegaConf.to_container(cfg, resolve=True), "data": data.describe(notes)})
    return write_report(report, out)


def differences(cfg: DictConfig) -> str:
    return "\n".join([
        "- Data: a synthetic stand-in for SOL by default (General MIDI soundfont notes in the TinySOL layout, "
        "12 instruments, fewer pitches per instrument than SOL, 3 dynamics); the paper used 1,885 SOL recordings "
        "with M = 82 pitches." if cfg.data.synthetic else "- Data: the SOL folder at data.root.",
        f"- Networks: {cfg.model.channels} conv channels and {cfg.model.hidden} FC units (paper: 512 / 512); "
        f"{cfg.trainer.max_steps} training steps of batch {cfg.data.batch_size} at Adam lr {cfg.optim.lr:g} (paper: "
        "batch 128, lr 1e-4, steps not given)"
        + (f", the class means of the priors at lr {cfg.optim.prior_lr:g} (Adam moves a weight by about lr a "
           "step, so at lr the means would stay near their Xavier initialisation in so short a run)."
           if cfg.optim.prior_lr is not None else "."),
        f"- Instrument cross-entropy weight {cfg.model.label_weight:g} (the paper gives no weight); q(y_t|X) "
        f"estimated with {cfg.model.qy_samples} sample(s) of z_t; reconstruction term: summed squared error.",
        (f"- A linear pitch classifier on z_p with cross-entropy weight {cfg.model.pitch_weight:g}, in both models: "
         "not in the paper; the authors' released configuration has it (weight 1). Without it z_p held little "
         "more pitch than z_t in our short runs." if cfg.model.pitch_weight > 0 else
         "- No pitch classifier on z_p (the paper's loss; the authors' released configuration adds one, weight 1)."),
        f"- Intervals: Table 1 gives the mean over training seeds {list(cfg.eval.seeds)} with a 95% Student-t "
        "interval over the seeds; verdicts use paired differences on the same validation notes (bootstrap over "
        "the notes of the seed-averaged difference) and require every seed's own difference to agree"
        + (" (one training seed: the spread between training runs is not included)."
           if len(cfg.eval.seeds) == 1 else "."),
        "- F-scores are macro-averaged F1 over the classes present in the validation notes (the paper does not "
        "say which average it used). Audio is rendered from the mel output by pseudo-inverse mel inversion and "
        "Griffin-Lim, not a neural vocoder.",
    ])
