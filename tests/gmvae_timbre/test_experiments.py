"""The evaluation's statistics: the vectorised bootstrap F-scores equal scikit-learn's on every resample, and
the paired difference decides an ordering that is there and not one that is not."""

import numpy as np
import pytest

from gmvae_timbre import experiments


def test_resampled_f_scores_equal_scikit_learn_on_each_resample():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 9, 40)
    y_pred = np.where(rng.random(40) < 0.6, y_true, rng.integers(0, 11, 40))
    index = rng.integers(0, 40, size=(25, 40))
    fast = experiments.resampled_f_scores(y_true, y_pred, index)
    slow = [experiments.f_score(y_true[i], y_pred[i]) for i in index]
    np.testing.assert_allclose(fast, slow, rtol=1e-12)


def test_paired_difference_decides_only_real_orderings():
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 5, 200)
    good = np.where(rng.random(200) < 0.9, y_true, (y_true + 1) % 5)
    poor = np.where(rng.random(200) < 0.4, y_true, (y_true + 1) % 5)
    mean, low, high, n = experiments.paired_f_score_diff(y_true, [good], [poor], 300)
    assert n == 200 and low > 0 and mean == pytest.approx(experiments.f_score(y_true, good)
                                                          - experiments.f_score(y_true, poor))
    twin = np.where(rng.random(200) < 0.9, y_true, (y_true + 1) % 5)
    _, low, high, _ = experiments.paired_f_score_diff(y_true, [good], [twin], 300)
    assert low < 0 < high
    point, low, high = experiments.f_score_ci(y_true, [good, twin], 300)
    assert low <= point <= high


def test_seed_interval_is_student_t_over_the_seeds_and_per_seed_differences_pair_the_seeds():
    mean, low, high = experiments.seed_interval([0.7, 0.8, 0.9])
    half = 4.302653 * 0.1 / np.sqrt(3)  # t(0.975, 2 df) * sd / sqrt(n)
    assert mean == pytest.approx(0.8) and low == pytest.approx(0.8 - half) and high == 1.0  # clipped to [0, 1]
    assert experiments.seed_interval([0.5]) == (0.5, 0.5, 0.5)
    y_true = np.array([0, 0, 1, 1, 2, 2])
    right, wrong = y_true.copy(), np.array([0, 1, 1, 2, 2, 0])
    diffs = experiments.per_seed_differences(y_true, [right, wrong], [wrong, wrong])
    assert diffs[1] == 0 and diffs[0] == pytest.approx(1 - experiments.f_score(y_true, wrong))
