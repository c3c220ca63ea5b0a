"""Intervals a reviewer accepts: percentile-bootstrap 95% intervals of a mean and of a paired mean difference, and
the two one-sided t-tests (TOST) that decide "no difference larger than a margin" (equivalence) or "not lower by
more than a margin" (non-inferiority) on paired differences."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.stats


def mean_ci(values, level: float = 0.95, resamples: int = 10_000, seed: int = 0) -> tuple[float, float, float]:
    """Mean of ``values`` and its percentile-bootstrap interval at ``level`` -> (mean, low, high).
    One value gives (v, v, v); non-finite values are an error (drop them with a count before calling)."""
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    if x.size == 0:
        raise ValueError("mean_ci: no values")
    if not np.isfinite(x).all():
        raise ValueError(f"mean_ci: {int((~np.isfinite(x)).sum())} of {x.size} values are not finite")
    if x.size == 1:
        return float(x[0]), float(x[0]), float(x[0])
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(resamples, x.size))].mean(axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(x.mean()), float(low), float(high)


def paired_diff(a, b, level: float = 0.95, resamples: int = 10_000, seed: int = 0) -> tuple[float, float, float, int]:
    """Mean of the per-item differences ``a - b`` with its bootstrap interval -> (mean, low, high, n).
    An ordering "a > b" is decided when ``low > 0``; "a < b" when ``high < 0``."""
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"paired_diff: {a.size} and {b.size} items; the two sides must be paired item by item")
    mean, low, high = mean_ci(a - b, level, resamples, seed)
    return mean, low, high, int(a.size)


@dataclass(frozen=True)
class Tost:
    """Two one-sided Student-t tests of the mean of paired differences ``d`` against the margin ``(-m, +m)``.
    ``p_above``: p-value of H0 "mean <= -m" (small: the mean is above -m, e.g. "not lower by more than m");
    ``p_below``: of H0 "mean >= +m"; ``p = max`` of both (small: equivalent within +-m). ``low``/``high``: the
    two-sided ``1 - 2 alpha`` interval (90% for alpha 0.05), whose ends are the two one-sided 95% bounds."""

    mean: float
    low: float
    high: float
    margin: float
    p_above: float
    p_below: float
    n: int
    alpha: float = 0.05

    @property
    def p(self) -> float:
        return max(self.p_above, self.p_below)

    @property
    def above(self) -> bool:
        """Non-inferiority decided: the mean is above ``-margin`` at level ``alpha``."""
        return self.p_above < self.alpha

    @property
    def equivalent(self) -> bool:
        return self.p < self.alpha


def tost(differences, margin: float, alpha: float = 0.05) -> Tost:
    """TOST on paired differences (e.g. per-seed MSE of a minus that of b) with equivalence margin ``margin`` > 0
    in the differences' units. Needs at least two differences; all equal gives p = 0 or 1 by which side they fall."""
    d = np.asarray(differences, dtype=np.float64).reshape(-1)
    if d.size < 2:
        raise ValueError(f"tost: {d.size} differences; needs at least 2")
    if not np.isfinite(d).all() or not (np.isfinite(margin) and margin > 0):
        raise ValueError(f"tost: differences must be finite and margin={margin} positive and finite")
    mean, se, dof = float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size)), d.size - 1
    if se == 0.0:
        p_above, p_below = float(mean <= -margin), float(mean >= margin)
        low = high = mean
    else:
        p_above = float(scipy.stats.t.sf((mean + margin) / se, dof))
        p_below = float(scipy.stats.t.cdf((mean - margin) / se, dof))
        half = float(scipy.stats.t.ppf(1 - alpha, dof)) * se
        low, high = mean - half, mean + half
    return Tost(mean, low, high, float(margin), p_above, p_below, int(d.size), alpha)


def format_ci(mean: float, low: float, high: float, digits: int = 2) -> str:
    """'1.23 [1.01, 1.45]'."""
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def detectable_effect(differences, level: float = 0.95, power: float = 0.8) -> float:
    """The smallest mean of paired differences that a two-sided test at ``level`` detects with probability
    ``power``, given their spread: ``(t_{(1+level)/2} + t_{power}) * sd / sqrt(n)`` (Student t, n - 1 degrees of
    freedom); inf with fewer than two differences."""
    d = np.asarray(differences, dtype=np.float64).reshape(-1)
    if d.size < 2:
        return float("inf")
    if not np.isfinite(d).all():
        raise ValueError(f"detectable_effect: {int((~np.isfinite(d)).sum())} of {d.size} differences are not finite")
    dof = d.size - 1
    quantiles = scipy.stats.t.ppf((1 + level) / 2, dof) + scipy.stats.t.ppf(power, dof)
    return float(quantiles * d.std(ddof=1) / np.sqrt(d.size))
