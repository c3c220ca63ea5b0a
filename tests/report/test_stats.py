"""The statistics every package's claims rest on, against known answers from scipy: the percentile bootstrap of a
mean, the paired difference (a - b, not b - a), TOST as two one-sided t-tests, and the detectable effect."""

import numpy as np
import pytest
import scipy.stats

from common.report.stats import detectable_effect, mean_ci, paired_diff, tost


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mean_ci_is_scipys_percentile_bootstrap(seed):
    x = np.random.default_rng(seed).gamma(2.0, 1.5, size=25)
    mean, low, high = mean_ci(x)
    ref = scipy.stats.bootstrap((x,), np.mean, confidence_level=0.95, n_resamples=20_000, method="percentile",
                                random_state=seed).confidence_interval
    assert mean == pytest.approx(x.mean())
    tolerance = 0.04 * x.std() * 1.96 * 2 / np.sqrt(x.size)  # Monte Carlo error of the two interval ends
    assert low == pytest.approx(ref.low, abs=tolerance) and high == pytest.approx(ref.high, abs=tolerance)
    narrower = mean_ci(x, level=0.5)
    assert low < narrower[1] < narrower[2] < high


def test_mean_ci_of_a_large_normal_sample_is_the_normal_interval():
    x = np.random.default_rng(3).normal(10.0, 2.0, size=400)
    mean, low, high = mean_ci(x)
    half = 1.96 * x.std() / np.sqrt(x.size)
    assert low == pytest.approx(mean - half, abs=0.05 * half) and high == pytest.approx(mean + half, abs=0.05 * half)


def test_paired_diff_is_a_minus_b_item_by_item():
    rng = np.random.default_rng(4)
    b = rng.normal(0.0, 5.0, size=12)  # items differ far more than the two sides
    a = b + 1.0 + 0.1 * rng.standard_normal(12)
    mean, low, high, n = paired_diff(a, b)
    assert n == 12 and mean == pytest.approx(np.mean(a - b)) and 0.9 < low < mean < high < 1.1
    assert (mean, low, high) == mean_ci(a - b)
    flipped = paired_diff(b, a)
    assert flipped[0] == pytest.approx(-mean) and flipped[2] < 0
    with pytest.raises(ValueError, match="paired item by item"):
        paired_diff(a, b[:-1])


@pytest.mark.parametrize("shift, margin", [(0.0, 0.5), (0.4, 0.5), (-0.3, 0.2), (1.0, 0.1)])
def test_tost_is_two_one_sided_t_tests(shift, margin):
    d = np.random.default_rng(5).normal(shift, 0.4, size=9)
    result = tost(d, margin)
    above = scipy.stats.ttest_1samp(d, -margin, alternative="greater").pvalue
    below = scipy.stats.ttest_1samp(d, margin, alternative="less").pvalue
    assert result.p_above == pytest.approx(above) and result.p_below == pytest.approx(below)
    assert result.p == pytest.approx(max(above, below))
    low, high = scipy.stats.t.interval(0.90, d.size - 1, loc=d.mean(), scale=scipy.stats.sem(d))
    assert (result.low, result.high) == (pytest.approx(low), pytest.approx(high))
    assert result.equivalent == (max(above, below) < 0.05) and result.above == (above < 0.05)


def test_tost_decides_equivalence_only_inside_the_margin():
    d = np.random.default_rng(6).normal(0.0, 0.05, size=20)
    assert tost(d, 0.2).equivalent and not tost(d + 0.5, 0.2).equivalent and not tost(d - 0.5, 0.2).above
    assert tost(d - 0.5, 0.2).p_above > 0.5


@pytest.mark.parametrize("n", [5, 12, 40])
def test_detectable_effect_has_the_stated_power(n):
    """At the detectable effect, a two-sided t-test at 95% rejects with probability 0.8 (noncentral t)."""
    d = np.random.default_rng(n).normal(0.0, 2.0, size=n)
    effect = detectable_effect(d)
    sd = d.std(ddof=1)
    assert effect == pytest.approx((scipy.stats.t.ppf(0.975, n - 1) + scipy.stats.t.ppf(0.8, n - 1)) * sd / np.sqrt(n))
    critical = scipy.stats.t.ppf(0.975, n - 1)
    power = scipy.stats.nct.sf(critical, n - 1, effect / (sd / np.sqrt(n)))
    assert power == pytest.approx(0.8, abs=0.03)
    assert detectable_effect(d, power=0.9) > effect > detectable_effect(d, level=0.8)
    assert detectable_effect(np.full(6, 1.5)) == 0.0 and detectable_effect([1.0]) == float("inf")
