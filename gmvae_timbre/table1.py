"""Table 1 of the paper on the label-fraction grid: linear probes on z_t / z_p and the CNN baselines, F-scores
with intervals over the runs (seed x thread setting), and the paper's orderings decided on paired differences."""

from __future__ import annotations

from omegaconf import DictConfig

from common.report import Claim, Section, Table
from gmvae_timbre import data, experiments

KINDS = ("vae", "gmvae")
# Table 1 of the paper: F-scores by N; instrument (CNN, VAE z_t, VAE z_p, GMVAE z_t, GMVAE z_p), pitch (same)
PAPER_TABLE1 = {
    0: ((None, 0.960, 0.163, 0.937, 0.175), (None, 0.112, 0.966, 0.146, 0.960)),
    25: ((0.920, 0.960, 0.192, 0.971, 0.180), (None, 0.169, 0.966, 0.084, 0.977)),
    50: ((0.983, 0.971, 0.169, 0.988, 0.186), (None, 0.158, 0.977, 0.079, 0.977)),
    75: ((1.000, 0.971, 0.169, 1.000, 0.163), (None, 0.079, 0.971, 0.045, 0.977)),
    100: ((1.000, 0.937, 0.158, 1.000, 0.197), (0.983, 0.039, 0.983, 0.028, 0.966)),
}


def decided(d: tuple, sign: int) -> bool:
    """An ordering in direction ``sign`` holds when the item-bootstrap interval of the run-averaged difference
    ``d = (mean, low, high, per-run differences)`` excludes 0 on that side and every run's own difference has
    that sign."""
    mean, low, high, per_seed = d
    return bool(low > 0 and (per_seed > 0).all()) if sign > 0 else bool(high < 0 and (per_seed < 0).all())


def detectable(d: tuple) -> float:
    """The smallest difference the check can call: the half-width of its 95% interval (at this many notes)."""
    return (d[2] - d[1]) / 2


def _text(d: tuple) -> str:
    return (f"{d[0]:+.3f} [{d[1]:+.3f}, {d[2]:+.3f}], runs {' '.join(f'{v:+.2f}' for v in d[3])}, smallest "
            f"detectable {detectable(d):.3f}")


def table1(cfg: DictConfig, notes: data.SolNotes, models: dict, codes: dict,
           runs: list[tuple[int, int]]) -> tuple[Section, dict, list[Claim]]:
    """Linear probes on z_t / z_p (``codes[(kind, N, seed, threads)]``) and the CNNs (``models``): F-scores with
    intervals over the runs (seed, threads), and the paper's orderings decided on paired differences (over the
    validation notes and over the runs)."""
    e, train = cfg.eval, notes.train
    truth = {"instrument": notes.instrument, "pitch": notes.pitch}
    preds = {}  # (target, system, N) -> [predictions per run]
    for target, labels in truth.items():
        for (kind, n, *_), z in sorted(codes.items()):
            for space in ("z_t", "z_p"):
                preds.setdefault((target, f"{kind} {space}", n), []).append(
                    experiments.linear_probe(z[space], labels, train))
        for n in e.label_fractions:
            for seed, threads in runs:
                key = ("cnn-instrument", n, seed, threads) if target == "instrument" else ("cnn-pitch", 100, seed,
                                                                                          threads)
                key = key if target == "instrument" or n == 100 else None
                if key in models:  # the pitch CNN: in the N = 100 row
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
    verdicts, claims = orderings(preds, val_truth, list(e.label_fractions), e.bootstrap)
    section = Section(
        title="Table 1: linear classifiers on z_t / z_p and the CNN baselines",
        text=(f"Macro F1 on the {int(notes.val.sum())} validation notes: mean over the {len(runs)} runs (seed, "
              f"threads) {runs} with its 95% Student-t interval over the runs. Linear classifiers: scikit-learn "
              "logistic regression on the standardised posterior means of the training notes (all their labels). The "
              "instrument CNN learns from the same N % of labels as the row (none at N = 0); the pitch CNN from "
              "all pitch labels. Verdicts: paired differences F1(a) - F1(b) on the same validation notes; the "
              "interval is a percentile bootstrap over the notes of the run-averaged difference (each resample "
              "keeps the notes paired across systems and runs), and 'decided' needs that interval to exclude 0 "
              "in the claimed direction and every run's own difference to have the claimed sign."),
        tables=[Table(columns=columns, rows=rows, caption="F-scores, ours [95% CI over runs] beside the paper's",
                      digits=3),
                Table(columns=["comparison", "N %", "difference", "95% CI (notes)", "per run", "decided"],
                      rows=verdicts, caption="paired F1 differences")])
    return section, {k: list(v) for k, v in scores.items()}, claims


def orderings(preds: dict, truth: dict, fractions: list[int], resamples: int) -> tuple[list[list], list[Claim]]:
    """The paper's Table 1 orderings from the predictions ``preds[(target, system, N)]`` (one array per run) of
    the validation notes (labels ``truth[target]``) -> (rows of the verdict table, claims)."""
    verdicts, claims = [], []

    def verdict(name: str, target: str, terms: list, sign: int, n_label) -> tuple:
        """(mean, low, high, per-run values) of the contrast sum w F1(preds[(target, system, N)]) over ``terms``
        [(w, system, N)], recorded in the verdict table."""
        runs = [(w, preds[(target, system, n)]) for w, system, n in terms]
        mean, low, high, _ = experiments.paired_f_score_contrast(truth[target], runs, resamples)
        d = (mean, low, high, experiments.per_seed_contrast(truth[target], runs))
        verdicts.append([name, n_label, f"{mean:+.3f}", f"[{low:+.3f}, {high:+.3f}]",
                         " ".join(f"{v:+.3f}" for v in d[3]), decided(d, sign)])
        return d

    def diff(name: str, target: str, a: str, b: str, n: int, sign: int) -> tuple:
        return verdict(name, target, [(1.0, a, n), (-1.0, b, n)], sign, n)

    for text, target, better, worse in (("z_t beats z_p for instrument", "instrument", "z_t", "z_p"),
                                        ("z_p beats z_t for pitch", "pitch", "z_p", "z_t")):
        ds = [diff(f"{kind}: {better} - {worse}, {target}", target, f"{kind} {better}", f"{kind} {worse}", n, 1)
              for kind in KINDS for n in fractions]
        held = [decided(d, 1) for d in ds]
        claims.append(Claim(claim=f"{text} (both models, every N)", holds=all(held),
                            evidence=f"decided at {sum(held)} of {len(held)} (model, N); see the verdict table; "
                                     f"smallest detectable {max(detectable(d) for d in ds):.3f}"))
    low, high = min(fractions), max(fractions)
    trend = {kind: verdict(f"{kind}: z_t instrument F1, N={high} - N={low}", "instrument",
                           [(1.0, f"{kind} z_t", high), (-1.0, f"{kind} z_t", low)], 1, f"{high} vs {low}")
             for kind in KINDS}
    # "while M_VAE's does not": an undecided M_VAE trend is no evidence of none, so M_GMVAE's gain must be decidedly
    # larger than M_VAE's (the difference of the two changes)
    more = verdict(f"gmvae - vae: z_t instrument F1 change N={low}->{high}", "instrument",
                   [(1.0, "gmvae z_t", high), (-1.0, "gmvae z_t", low), (-1.0, "vae z_t", high),
                    (1.0, "vae z_t", low)], 1, f"{high} vs {low}")
    claims.append(Claim(claim="M_GMVAE's z_t improves with N while M_VAE's does not (M_GMVAE's gain is larger)",
                        holds=decided(trend["gmvae"], 1) and decided(more, 1),
                        evidence=f"instrument F1 change N={low}->{high}: M_GMVAE {_text(trend['gmvae'])}; M_VAE "
                                 f"{_text(trend['vae'])}; M_GMVAE's minus M_VAE's {_text(more)}"))
    disc = {n: diff("gmvae z_t - vae z_t, instrument", "instrument", "gmvae z_t", "vae z_t", n, 1) for n in fractions}
    pitchy = {n: diff("gmvae z_t - vae z_t, pitch (lower = less pitch)", "pitch", "gmvae z_t", "vae z_t", n, -1)
              for n in fractions}
    if 0 in fractions:
        claims.append(Claim(claim="at N = 0 the order reverses (the paper's own table: M_VAE's z_t is the more "
                                  "discriminative and the less pitch-informative)",
                            holds=decided(disc[0], -1) and decided(pitchy[0], 1),
                            evidence=f"M_GMVAE - M_VAE at N=0: inst {_text(disc[0])}; pitch {_text(pitchy[0])}"))
    supervised = [n for n in fractions if n >= 25]
    claims.append(Claim(claim="for N >= 25, M_GMVAE's timbre space is more discriminative (instrument F1) and less "
                              "pitch-informative (pitch F1) than M_VAE's",
                        holds=bool(supervised) and all(decided(disc[n], 1) and decided(pitchy[n], -1)
                                                       for n in supervised),
                        evidence="; ".join(f"N={n}: inst {_text(disc[n])}, pitch {_text(pitchy[n])}"
                                           for n in supervised)))
    below = [n for n in fractions if 0 < n < 75]  # at N = 0 there is no instrument CNN
    beats = {n: diff("gmvae z_t - instrument CNN, instrument", "instrument", "gmvae z_t", "cnn", n, 1)
             for n in below}
    if below:
        claims.append(Claim(claim="M_GMVAE's z_t beats the instrument CNN when N < 75",
                            holds=all(decided(b, 1) for b in beats.values()),
                            evidence="; ".join(f"N={n}: {_text(b)}" for n, b in beats.items())))
    return verdicts, claims
