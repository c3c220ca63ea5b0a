"""The paper's orderings of Tables I-IV, decided on per-seed paired differences of the test MSE, with the power
of each test: the smallest effect it detects and its power for a 5% effect.

Every difference is relative: per seed, ``(MSE of a - MSE of b) / MSE of b`` (the same seed on both sides: the
same data order and initialisation seed). "a lower than b" holds when the upper end of the 95% Student-t interval
of those differences over seeds is below 0. "The skip does not help" is a non-inferiority claim: the lower side of
a TOST (one-sided t-test, 5%) shows the skip's MSE is not lower by more than ``eval.skip_margin``.
"""

from __future__ import annotations

import numpy as np
import scipy.optimize
import scipy.stats

from common.report import Claim, tost
from realtime_ae.experiments import Spec

POWER = 0.8  # the power at which the smallest detectable effect is stated
EFFECT = 0.05  # the effect the paper's gaps call for (Tables I-IV differ by 2-8%)


def seed_interval(values, level: float = 0.95, bounds: tuple[float, float] | None = None) -> tuple[float, float,
                                                                                                    float]:
    """Mean of per-seed values (one per independently trained model) and its Student-t interval -> (mean, low,
    high), clipped to ``bounds`` (e.g. (0, 1) for a fraction); one value gives (v, v, v)."""
    x = np.asarray(values, np.float64)
    mean = float(x.mean())
    if x.size < 2:
        return mean, mean, mean
    half = scipy.stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    low, high = mean - half, mean + half
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return mean, float(low), float(high)


def relative(mse: dict, a: Spec, b: Spec, seeds: list[int]) -> np.ndarray:
    """Per seed, (MSE of a - MSE of b) / MSE of b."""
    return np.array([float(mse[a, k].mean()) / float(mse[b, k].mean()) - 1.0 for k in seeds])


def detectable(sd: float, n: int, power: float = POWER, alpha: float = 0.05, sides: int = 2) -> float:
    """The smallest true mean difference that a level-``alpha`` one-sample t-test (two-sided, or one-sided with
    ``sides=1``) on ``n`` differences of standard deviation ``sd`` finds with probability ``power`` (noncentral t;
    inf below 2 seeds). One-sided, it is also the smallest margin a non-inferiority test shows at that power when
    the true difference is 0."""
    if n < 2 or not np.isfinite(sd):
        return float("inf")
    if sd < 1e-12:
        return 0.0
    crit = scipy.stats.t.ppf(1 - alpha / sides, n - 1)
    return float(scipy.optimize.brentq(lambda d: scipy.stats.nct.sf(crit, n - 1, d * np.sqrt(n) / sd) - power,
                                       1e-6 * sd, 100 * sd))


def power_at(effect: float, sd: float, n: int, alpha: float = 0.05) -> float:
    """The power of that test against a true mean difference of ``effect``."""
    if n < 2 or not np.isfinite(sd):
        return 0.0
    if sd < 1e-12:
        return 1.0
    return float(scipy.stats.nct.sf(scipy.stats.t.ppf(1 - alpha / 2, n - 1), n - 1, effect * np.sqrt(n) / sd))


def lower(mse: dict, a: Spec, b: Spec, seeds: list[int]) -> tuple[bool, str]:
    """Is a's MSE decidedly lower than b's? (upper end of the 95% interval of the relative differences below 0)"""
    rel = relative(mse, a, b, seeds)
    if rel.size < 2:
        return False, f"{a.name} vs {b.name}: (a - b) / b = {rel[0]:+.1%} on one seed, no test"
    mean, lo, hi = seed_interval(rel)
    sd = float(rel.std(ddof=1))
    return bool(hi < 0), (f"{a.name} vs {b.name}: (a - b) / b = {mean:+.1%} [{lo:+.1%}, {hi:+.1%}] (per seed "
                          f"{', '.join(f'{r:+.1%}' for r in rel)}; lower in {int((rel < 0).sum())}/{rel.size} seeds; "
                          f"detects {detectable(sd, rel.size):.1%} at {POWER:.0%} power)")


def not_lower(mse: dict, a: Spec, b: Spec, seeds: list[int], margin: float) -> tuple[str, str]:
    """Is a's MSE not lower than b's by more than ``margin`` (a fraction of b's)? -> ("holds" | "contradicted"
    (lower by more than the margin at 5%) | "not shown", evidence)."""
    rel = relative(mse, a, b, seeds)
    if rel.size < 2:
        return "not shown", f"{a.name} vs {b.name}: one seed, no test"
    test = tost(rel, margin)
    verdict = "holds" if test.above else ("contradicted" if test.high < -margin else "not shown")
    return verdict, (f"{a.name} vs {b.name}: (a - b) / b = {test.mean:+.1%}, one-sided 95% bounds [{test.low:+.1%}, "
                     f"{test.high:+.1%}], margin -{margin:.0%}, p = {test.p_above:.3f} against \"a lower by more "
                     f"than the margin\" -> {verdict} (per seed {', '.join(f'{r:+.1%}' for r in rel)}; lower in "
                     f"{int((rel < 0).sum())}/{rel.size} seeds; with no true difference it shows a margin of "
                     f"{detectable(float(rel.std(ddof=1)), rel.size, sides=1):.1%} at {POWER:.0%} power)")


def claims(specs: dict[str, list[Spec]], mse: dict, seeds: list[int], margin: float) -> list[Claim]:
    out = []

    def all_of(text: str, pairs):
        results = [lower(mse, a, b, seeds) for a, b in pairs]
        out.append(Claim(text, all(r[0] for r in results), "; ".join(r[1] for r in results)))

    if "I" in specs:
        none, diff, chroma = specs["I"]
        all_of("Table I: the one-hot chroma augmentation gives the lowest MSE", [(chroma, none), (chroma, diff)])
    for t in ("II", "III"):
        if t in specs:
            l_no, l_skip, s_no, s_skip = specs[t]
            if t == "II":
                results = [not_lower(mse, a, b, seeds, margin) for a, b in ((l_skip, l_no), (s_skip, s_no))]
                out.append(Claim(f"Table II: the chroma skip does not help: it does not lower the MSE by more than "
                                 f"{margin:.0%} (eval.skip_margin), neither activation",
                                 all(v == "holds" for v, _ in results), "; ".join(e for _, e in results)))
                all_of("Table II: sigmoid without skip is best", [(s_no, l_no), (s_no, l_skip), (s_no, s_skip)])
            else:
                all_of("Table III: the chroma skip lowers the MSE on violin (both activations)",
                       [(l_skip, l_no), (s_skip, s_no)])
                all_of("Table III: sigmoid with skip is best", [(s_skip, l_no), (s_skip, l_skip), (s_skip, s_no)])
            all_of(f"Table {t}: both sigmoid models beat both LReLU models",
                   [(s, lr) for s in (s_no, s_skip) for lr in (l_no, l_skip)])
    if "IV" in specs:
        o_no, o_skip, v_no, v_skip = specs["IV"]
        all_of("Table IV: with a 3-unit bottleneck the skip lowers the MSE (one octave and violin)",
               [(o_skip, o_no), (v_skip, v_no)])
    return out


def power_summary(specs: dict[str, list[Spec]], mse: dict, seeds: list[int]) -> dict:
    """The spread of the per-seed relative differences over every pair the claims compare: their pooled standard
    deviation, the smallest effect detected at 80% power with these seeds, the power for a 5% effect, and the
    seeds a 5% effect needs at 80% power."""
    pairs = {(a, b) for group in specs.values() for a in group for b in group
             if a != b and a.corpus == b.corpus and a.bottleneck == b.bottleneck}
    rels = [relative(mse, a, b, seeds) for a, b in sorted(pairs, key=lambda p: (p[0].name, p[1].name))]
    n = len(seeds)
    if n < 2 or not rels:
        return {"seeds": n, "pooled_sd": None, "detectable": None, "power_at_5pct": None, "seeds_for_5pct": None}
    sd = float(np.sqrt(np.mean([r.var(ddof=1) for r in rels])))
    need = next((m for m in range(2, 200) if power_at(EFFECT, sd, m) >= POWER), None)
    return {"seeds": n, "pooled_sd": sd, "detectable": detectable(sd, n), "power_at_5pct": power_at(EFFECT, sd, n),
            "seeds_for_5pct": need}
