"""Intervals a reviewer accepts: percentile-bootstrap 95% intervals of a mean and of a paired mean difference."""

from __future__ import annotations

import numpy as np


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


def format_ci(mean: float, low: float, high: float, digits: int = 2) -> str:
    """'1.23 [1.01, 1.45]'."""
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"
