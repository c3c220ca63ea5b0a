"""Table 1 and the paper's claims, decided on paired per-item differences (95% bootstrap intervals over test
items that do not overlap in time; each item's value is its mean over the training seeds).

Every claim row states the smallest effect its test can detect: 2.8 standard errors of the paired differences
(80% power at the 95% level, ``mde``). Claims that rest on a proxy are "not testable" when the proxy fails its
own check (the phone recogniser against the majority-class guess on real singing).
"""

from __future__ import annotations

import numpy as np

from common.report import Claim, Table, mean_ci, paired_diff
from speech2sing.config import SYSTEM_NAMES

INPUT_ROW = "input"  # the stretched speech itself, unconverted: what every system starts from
CONSTANT_ROW = "constant pitch"  # the best single pitch class with the melody's voicing (per item, an oracle)
# Parekh et al. (2020), Table 1: LSD (dB), RCA over 100 random NUS-48E test samples
PAPER = {"b1": (14.19, 0.221), "b2": (11.71, 0.769), "allnorm": (11.72, 0.771), "p_mse": (11.22, 0.829),
         "p_mtl": (10.97, 0.857), "phsync": (10.91, 0.833), "singing_ae": (5.51, 0.991)}
MELODY_SYSTEMS = ("b2", "allnorm", "p_mse", "p_mtl", "phsync")
STS_SYSTEMS = ("b1", "b2", "allnorm", "p_mse", "p_mtl", "phsync")
BY_FAR = 0.2  # "B1 worst, by far": RCA at least this much below every other system (the paper's gap is >= 0.55)
COMPARABLE = 0.1  # "comparable RCA": the melody systems' means within this (the paper's spread is 0.088)
PROXY_MARGIN = 0.1  # the recogniser counts only if it errs this much less than the majority-class guess
POWER_Z = 2.8  # z(0.975) + z(0.80)


def per_item(result: dict, system: str, metric: str) -> np.ndarray:
    """One value per test item: the metric averaged over the system's seeds."""
    seeds = result["scores"][system].values()
    return np.mean([[s[metric] for s in scores] for scores in seeds], axis=0)


def per_seed(result: dict, system: str, metric: str) -> np.ndarray:
    """One value per training seed: the metric averaged over the test items."""
    return np.array([np.mean([s[metric] for s in scores]) for scores in result["scores"][system].values()])


def seed_interval(values: np.ndarray) -> tuple[float, float]:
    """95% Student-t interval of the mean of per-seed values (n >= 2)."""
    from scipy import stats

    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return float(values.mean() - half), float(values.mean() + half)


def mde(differences: np.ndarray) -> float:
    """The smallest mean paired difference the test detects with 80% power at the 95% level."""
    d = np.asarray(differences, dtype=np.float64)
    return float(POWER_Z * d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("inf")


def compare(a: np.ndarray, b: np.ndarray, margin: float = 0.0, sign: float = 1.0) -> tuple[bool, str]:
    """``a`` below ``b`` by more than ``margin`` (``sign=-1``: above): the paired interval excludes it."""
    mean, lo, hi, n = paired_diff(a, b)
    held = bool(hi < -margin) if sign > 0 else bool(lo > margin)
    return held, f"{mean:+.3f} [{lo:+.3f}, {hi:+.3f}] (detects {mde(np.asarray(a) - np.asarray(b)):.3f})"


def all_lower(result, system, others, metric, sign=1.0, margin=0.0) -> tuple[bool, str]:
    """``system`` below each of ``others`` in ``metric`` by more than ``margin`` (``sign=-1``: above)."""
    held, parts = True, []
    for other in others:
        ok, text = compare(per_item(result, system, metric), per_item(result, other, metric), margin, sign)
        held &= ok
        parts.append(f"vs {other} {text}")
    n = len(result["items"])
    return held, f"{metric} paired differences over {n} items, mean [95% CI] (smallest detectable): " + "; ".join(parts)


def recogniser_check(result: dict) -> tuple[bool, str]:
    """The phone recogniser beats always guessing the most common training phone on the real singing by
    ``PROXY_MARGIN``."""
    ours, majority = float(np.mean(result["target_phone_error"])), float(np.mean(result["majority_phone_error"]))
    ok = ours <= majority - PROXY_MARGIN
    return ok, (f"the recogniser errs on {ours:.3f} of the real singing's frames, the most common phone on "
                f"{majority:.3f}: {'usable' if ok else 'not testable'} (needs {PROXY_MARGIN} better)")


def claims(result: dict, systems: list[str]) -> list[Claim]:
    """The orderings of Section 3.2 (each row says what it needs and what it can detect)."""
    have, out = set(systems), []

    def add(text, needed, decide):
        if len(needed) > 1 and set(needed) <= have:
            holds, evidence = decide()
            out.append(Claim(claim=text, holds=bool(holds), evidence=evidence))

    others = [s for s in STS_SYSTEMS if s != "b1" and s in have]
    add(f"B1 (no melody) is the worst system, by far in RCA (at least {BY_FAR} below every other)", ["b1", *others],
        lambda: all_lower(result, "b1", others, "rca", margin=BY_FAR))
    add("P-MSE has a lower LSD than AllNorm", ["p_mse", "allnorm"],
        lambda: all_lower(result, "p_mse", ["allnorm"], "lsd"))
    add("Proposed MSE + PhSync has a lower LSD than P-MSE", ["phsync", "p_mse"],
        lambda: all_lower(result, "phsync", ["p_mse"], "lsd"))
    rivals = [s for s in ("b1", "b2", "allnorm", "p_mse") if s in have]
    add("P-MTL has the best LSD among the systems without PhSync", ["p_mtl", *rivals],
        lambda: all_lower(result, "p_mtl", rivals, "lsd"))

    def intelligible():
        usable, why = recogniser_check(result)
        if not usable:
            return False, f"not testable: {why}"
        held, text = all_lower(result, "p_mtl", ["p_mse"], "phone_error")
        return held, f"{why}. {text}"
    add("P-MTL is more intelligible than P-MSE (lower phone error of the recogniser on its output; the paper's "
        "listening test, Q1)", ["p_mtl", "p_mse"], intelligible)

    def comparable():
        melody = [s for s in MELODY_SYSTEMS if s in have]
        means = {s: float(np.mean(per_item(result, s, "rca"))) for s in melody}
        spread = max(means.values()) - min(means.values())
        above, text = all_lower(result, CONSTANT_ROW, melody, "rca")
        return spread <= COMPARABLE and above, (
            f"RCA means {', '.join(f'{s} {v:.3f}' for s, v in means.items())}: spread {spread:.3f} (comparable: "
            f"within {COMPARABLE}); satisfactory: each above the best constant pitch with the melody's voicing, "
            f"{text.replace('vs ', 'constant - ')}")
    add("Comparable (and satisfactory) RCA for every melody-conditioned system",
        [s for s in MELODY_SYSTEMS if s in have][:2], comparable)
    sts = [s for s in STS_SYSTEMS if s in have]

    def upper_bound():
        lsd, lsd_text = all_lower(result, "singing_ae", sts, "lsd")
        rca, rca_text = all_lower(result, "singing_ae", sts, "rca", sign=-1.0)
        return lsd and rca, f"{lsd_text}. {rca_text}"
    add("The Singing Autoencoder is an upper bound (lower LSD and higher RCA than every STS system)",
        ["singing_ae", *sts[:1]], upper_bound)
    return out


def table1(result: dict, systems: list[str]) -> Table:
    n_items, n_seeds = len(result["items"]), max(len(v) for v in result["scores"].values())
    rows = []
    for name in [INPUT_ROW, *systems]:
        cells = [SYSTEM_NAMES.get(name, "Input: stretched speech (no conversion)")]
        for metric, paper in (("lsd", 0), ("rca", 1)):
            mean, lo, hi = mean_ci(per_item(result, name, metric))
            digits = 2 if metric == "lsd" else 3
            cells += [mean, f"[{lo:.{digits}f}, {hi:.{digits}f}]"]
            if n_seeds > 1:
                seeds = per_seed(result, name, metric)
                cells.append(f"[{seed_interval(seeds)[0]:.{digits}f}, {seed_interval(seeds)[1]:.{digits}f}]"
                             if len(seeds) > 1 else None)
            cells.append(PAPER[name][paper] if name in PAPER else None)
        cells.append(float(np.mean(per_item(result, name, "phone_error"))))
        head = "head_phone_error" in result["scores"][name][next(iter(result["scores"][name]))][0]
        cells.append(float(np.mean(per_item(result, name, "head_phone_error"))) if head else None)
        cells.append(float(np.nanmean(per_item(result, name, "speaker_distance"))))
        cells.append(float(np.nanmean(per_item(result, name, "speaker_nearest"))))
        rows.append(cells)

    def ci(metric):
        return [f"{metric} 95% CI, items", *[f"{metric} 95% CI, seeds"] * (n_seeds > 1)]
    usable, why = recogniser_check(result)
    return Table(columns=["system", "LSD ours", *ci("LSD"), "LSD paper", "RCA ours", *ci("RCA"), "RCA paper",
                          "phone error (recogniser proxy)", "phone error (P-MTL head)", "speaker distance",
                          "speaker nearest"], rows=rows, digits=3,
                 caption=f"Means over {n_items} held-out test samples that do not overlap in time: 95% bootstrap "
                         f"intervals over items (each item's value is the mean over {n_seeds} training seed(s))"
                         + (f" and 95% t-intervals over the {n_seeds} seeds' means. " if n_seeds > 1 else ". ")
                         + "LSD over 100 Hz-3.5 kHz of the network output vs the sung spectrogram, as the reference "
                         "code computes it (the paper labels it dB). RCA: pYIN on the Griffin-Lim output vs the "
                         "input contour. Phone error: frame error against the sung phone labels, of a phone "
                         f"recogniser trained on the training singing and run on each output ({why}), and of "
                         "P-MTL's own phoneme head. Speaker distance: cepstral distortion (dB) of the output to the "
                         "sung target, frame by frame over the target's loud frames; speaker nearest: the fraction of "
                         "items whose nearest training singer (by mean spectral envelope) is the right one "
                         f"({speaker_check(result, systems)}).")


def speaker_check(result: dict, systems: list[str]) -> str:
    """Does the speaker measure rank the same voice first: on the real singing, and the Singing Autoencoder (the
    singer's own voice) against B1 (the speech mapped to singing without a melody)?"""
    text = f"on the real sung items the right singer is nearest in {result['target_speaker_nearest']:.2f} of them"
    ae, b1 = (per_item(result, s, "speaker_distance") if s in systems else np.array([np.nan])
              for s in ("singing_ae", "b1"))
    known = np.isfinite(ae) & np.isfinite(b1)  # singers with training singing
    if known.sum() > 1:
        closer, diff = compare(ae[known], b1[known])
        nearest = {s: float(np.nanmean(per_item(result, s, "speaker_nearest"))) for s in ("singing_ae", "b1")}
        why = "not closer: the measure does not tell the voices apart"
        text += (f"; Singing AE minus B1 distance {diff}: the same voice ranks {'closer' if closer else why}"
                 f"; nearest-singer identification {nearest['singing_ae']:.2f} for the Singing AE, "
                 f"{nearest['b1']:.2f} for B1")
    return text
