"""The paper's claims, checked on the evaluation's numbers. Each check can fail (a degenerate output gives
"does not hold": tests/music_translation/test_claims.py) and says the smallest effect it can detect here."""

from __future__ import annotations

import numpy as np
from scipy.stats import binom, binomtest

from common.report import Claim, paired_diff

ALPHA, POWER_Z = 0.05, 2.80  # 1.96 + 0.84: a two-sided 5% test with 80% power


def detectable_difference(differences) -> float:
    """Smallest mean paired difference a 5% two-sided test detects with 80% power over these items."""
    d = np.asarray(differences, dtype=np.float64)
    return float(POWER_Z * d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("inf")


def keeps_pitch(group: str, translation, chance, seeds: int) -> Claim:
    """Translation NCC (frames voiced in both) above the voicing-matched chance, paired over segments."""
    translation, chance = np.asarray(translation, float), np.asarray(chance, float)
    d, lo, hi, n = paired_diff(translation, chance)
    return Claim(f"{group}: the translation keeps the input's pitch (NCC on frames voiced in both above "
                 "voicing-matched chance)", bool(lo > 0),
                 f"paired NCC difference translation - chance {d:.3f} [{lo:.3f}, {hi:.3f}], {n} segments (each the "
                 f"mean over {seeds} models); smallest detectable difference "
                 f"{detectable_difference(translation - chance):.3f}")


def detectable_accuracy(n: int, k: int) -> float:
    """Smallest true accuracy a one-sided 5% binomial test over ``n`` sets of ``k`` clips finds above 1/k with
    80% power."""
    if n < 1:
        return float("nan")
    critical = int(binom.isf(ALPHA, n, 1 / k)) + 1  # the fewest correct picks significant at 5%
    grid = np.linspace(1 / k, 1, 400)
    found = grid[binom.sf(critical - 1, n, grid) >= 0.8]
    return float(found[0]) if len(found) else 1.0


def _accuracy(confusion: np.ndarray) -> tuple[int, int, float]:
    n, correct = int(confusion.sum()), int(np.trace(confusion))
    k = len(confusion)
    p = binomtest(correct, n, 1 / k, alternative="greater").pvalue if n else 1.0
    return correct, n, float(p)


def lineup(test: np.ndarray, control: np.ndarray) -> Claim:
    """The paper's lineup finding (listeners mostly failed to pick the source): the calibrated picker's accuracy is
    not above chance (one-sided binomial at 5%). Testable only when the same picker finds the real source in the
    control sets above chance; otherwise it reads "not testable" and does not hold."""
    test, control = np.asarray(test), np.asarray(control)
    k = len(test)
    correct, n, p = _accuracy(test)
    c_correct, c_n, c_p = _accuracy(control)
    low, high = binomtest(correct, max(n, 1), 1 / k).proportion_ci(0.95, method="wilson") if n else (0, 1)
    testable = c_p < ALPHA
    text = (f"{correct} of {n} sets picked right, accuracy {correct / max(n, 1):.2f} [{low:.2f}, {high:.2f}] (Wilson) "
            f"vs chance {1 / k:.2f}, one-sided binomial p = {p:.3f}; control (the real audio among the translations): "
            f"{c_correct} of {c_n}, p = {c_p:.3f}; smallest accuracy detectable with {n} sets "
            f"{detectable_accuracy(n, k):.2f}")
    if not testable:
        text = "not testable: the picker does not find the real source in the control either; " + text
    return Claim("lineup: the source is not picked more often than chance (the paper: listeners mostly failed)",
                 bool(testable and p >= ALPHA), text)


def rank_statistics(crosses: list[np.ndarray], permutations: int = 2000, seed: int = 0) -> dict:
    """Same pitch nearest across instruments: ``crosses`` are cosine matrices (pitch i of instrument B, pitch j of
    A), one per model. top-1 = fraction of B's pitches whose most similar A note is the same pitch; AUC = how often
    the same pitch beats each other pitch. Both averaged over models and compared with a permutation null (A's
    pitch labels shuffled, the same shuffle for every model)."""
    crosses = [np.asarray(c, dtype=np.float64) for c in crosses]
    n = len(crosses[0])

    def stats(order: np.ndarray) -> tuple[float, float]:
        top, auc = [], []
        for c in crosses:
            m = c[:, order]
            same = np.diag(m)
            others = m[~np.eye(n, dtype=bool)].reshape(n, n - 1)
            top.append(np.mean(same > others.max(1)))
            auc.append(np.mean((same[:, None] > others) + 0.5 * (same[:, None] == others)))
        return float(np.mean(top)), float(np.mean(auc))

    top1, auc = stats(np.arange(n))
    rng = np.random.default_rng(seed)
    null = np.array([stats(rng.permutation(n)) for _ in range(permutations)])
    return {"pitches": n, "top1": top1, "auc": auc, "top1_chance": float(null[:, 0].mean()),
            "p_top1": float((1 + (null[:, 0] >= top1).sum()) / (1 + permutations)),
            "p_auc": float((1 + (null[:, 1] >= auc).sum()) / (1 + permutations)),
            "top1_detectable": float(np.quantile(null[:, 0], 1 - ALPHA)),
            "auc_detectable": float(np.quantile(null[:, 1], 1 - ALPHA))}


def same_pitch_nearest(pair: str, stats: dict, models: int) -> Claim:
    """Figure 3 as a rank statistic: the same pitch is the nearest across instruments more often than a permutation
    of the pitch labels makes it (top-1, permutation p < 0.05)."""
    return Claim(f"embeddings code pitch across instruments ({pair}): the same pitch is the nearest note of the "
                 "other instrument", bool(stats["p_top1"] < ALPHA),
                 f"top-1 {stats['top1']:.2f} over {stats['pitches']} pitches and {models} model(s) vs "
                 f"{stats['top1_chance']:.2f} under the permutation null (p = {stats['p_top1']:.4f}); AUC "
                 f"{stats['auc']:.2f} (p = {stats['p_auc']:.4f}); smallest top-1 detectable "
                 f"{stats['top1_detectable']:.2f}")
