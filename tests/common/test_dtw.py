"""common.dtw against librosa.sequence.dtw and scipy's cdist."""

import librosa
import numpy as np
import pytest
import scipy.spatial.distance
import torch

from common.align import path_error
from common.dtw import cost_matrix, dtw, multiscale_dtw

SHAPES = [(1, 1), (1, 7), (7, 1), (2, 2), (3, 9), (9, 3), (17, 17), (30, 41), (64, 50)]
CUSTOM_STEPS = [
    {"step_sizes": [[1, 1], [1, 2], [2, 1]]},
    {"step_sizes": [[1, 1], [0, 1], [1, 0]], "weights_mul": [2.0, 1.0, 1.0]},
    {"step_sizes": [[1, 0], [1, 1], [0, 1], [2, 1]], "weights_add": [0.5, 0.0, 0.5, 0.25]},
    {"weights_mul": [1.0, 3.0, 3.0], "weights_add": [0.0, 0.1, 0.0]},
]


def librosa_dtw(C, subseq=False, step_sizes=None, weights_add=None, weights_mul=None):
    """(cost, ascending path) from librosa, or None where librosa finds no path."""
    kwargs = {"step_sizes_sigma": None if step_sizes is None else np.array(step_sizes)}
    if weights_add is not None:
        kwargs["weights_add"] = np.array(weights_add, dtype=float)
    if weights_mul is not None:
        kwargs["weights_mul"] = np.array(weights_mul, dtype=float)
    try:
        D, wp = librosa.sequence.dtw(C=C, subseq=subseq, **kwargs)
    except librosa.util.exceptions.ParameterError:
        return None
    return (D[-1].min() if subseq else D[-1, -1]), wp[::-1]


def random_costs(rng, shape, ties):
    """Integer costs in {0, 1, 2} make many equal-cost paths, so tie-breaking is exercised."""
    return rng.integers(0, 3, size=shape).astype(float) if ties else rng.random(shape)


def assert_same_as_librosa(C, subseq=False, **steps):
    ref = librosa_dtw(C, subseq, **steps)
    if ref is None:
        with pytest.raises(ValueError, match="no warping path"):
            dtw(C, subseq=subseq, **steps)
        return
    cost, path = dtw(C, subseq=subseq, **steps)
    assert cost == ref[0]
    np.testing.assert_array_equal(path, ref[1])
    assert path.dtype == np.int64 and path.shape[1] == 2


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("ties", [False, True])
def test_default_steps_match_librosa(shape, ties):
    rng = np.random.default_rng(hash((shape, ties)) % 2**32)
    for _ in range(5):
        C = random_costs(rng, shape, ties)
        assert_same_as_librosa(C)
        cost, path = dtw(C)
        assert tuple(path[0]) == (0, 0) and tuple(path[-1]) == (shape[0] - 1, shape[1] - 1)


@pytest.mark.parametrize("steps", CUSTOM_STEPS)
@pytest.mark.parametrize("shape", SHAPES)
def test_custom_steps_and_weights_match_librosa(steps, shape):
    rng = np.random.default_rng(sum(shape))
    for ties in (False, True):
        assert_same_as_librosa(random_costs(rng, shape, ties), **steps)


@pytest.mark.parametrize("steps", [{}, *CUSTOM_STEPS])
@pytest.mark.parametrize("shape", [(1, 5), (3, 9), (5, 5), (12, 40), (20, 33)])
def test_subsequence_matches_librosa(steps, shape):
    # librosa flips the path of a precomputed C with more rows than columns, so only N <= M is compared.
    rng = np.random.default_rng(shape[1])
    for ties in (False, True):
        C = random_costs(rng, shape, ties)
        assert_same_as_librosa(C, subseq=True, **steps)


@pytest.mark.parametrize("shape", [(6, 4), (5, 9), (1, 6), (7, 1)])
def test_subsequence_cost_is_the_best_over_column_spans(shape):
    # Brute force, including more query rows than columns (which librosa's precomputed-C mode garbles).
    rng = np.random.default_rng(shape[0])
    C = rng.random(shape)
    best = min(dtw(C[:, a : b + 1])[0] for a in range(shape[1]) for b in range(a, shape[1]))
    cost, path = dtw(C, subseq=True)
    assert cost == pytest.approx(best)
    assert path[0, 0] == 0 and path[-1, 0] == shape[0] - 1
    assert cost == pytest.approx(C[path[:, 0], path[:, 1]].sum())


def test_subsequence_finds_embedded_query():
    rng = np.random.default_rng(3)
    Y = rng.standard_normal((5, 300))
    X = Y[:, 120:160] + 0.01 * rng.standard_normal((5, 40))
    cost, path = dtw(cost_matrix(X, Y), subseq=True)
    assert path[0, 1] == 120 and path[-1, 1] == 159 and path[-1, 0] == 39


def test_float32_and_torch_inputs_match_librosa():
    rng = np.random.default_rng(4)
    C = rng.random((40, 55)).astype(np.float32)
    for given in (C, torch.from_numpy(C)):
        cost, path = dtw(given)
        ref_cost, ref_path = librosa_dtw(C)
        assert cost == ref_cost
        np.testing.assert_array_equal(path, ref_path)


@pytest.mark.slow
def test_many_random_shapes_match_librosa():
    rng = np.random.default_rng(5)
    for trial in range(400):
        shape = tuple(rng.integers(1, 60, size=2))
        steps = [{}, *CUSTOM_STEPS][trial % 5]
        assert_same_as_librosa(random_costs(rng, shape, trial % 2 == 0), subseq=False, **steps)


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "cosine"])
def test_cost_matrix_matches_scipy_batched(metric):
    rng = np.random.default_rng(6)
    X, Y = rng.standard_normal((3, 12, 20)), rng.standard_normal((3, 12, 31))
    C = cost_matrix(torch.from_numpy(X), torch.from_numpy(Y), metric)
    assert C.shape == (3, 20, 31) and C.dtype == torch.float64
    for b in range(3):
        expected = scipy.spatial.distance.cdist(X[b].T, Y[b].T, metric)
        np.testing.assert_allclose(C[b].numpy(), expected, rtol=1e-7, atol=1e-9)


def test_cost_matrix_keeps_dtype_and_accepts_numpy():
    X = np.ones((4, 5), dtype=np.float32)
    C = cost_matrix(X, X, "cosine")
    assert C.dtype == torch.float32 and torch.allclose(C, torch.zeros(5, 5), atol=1e-6)
    assert cost_matrix(np.zeros((4, 2)), np.ones((4, 3)), "cosine").eq(1).all()  # a zero frame costs 1


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: dtw(np.full((3, 3), np.nan)), "NaN"),
        (lambda: dtw(np.ones(5)), "2-D cost matrix"),
        (lambda: dtw(np.ones((3, 3)), step_sizes=[[0, 0], [1, 1]]), r"\(0, 0\)"),
        (lambda: dtw(np.ones((3, 3)), step_sizes=[[1, 1]], weights_mul=[1.0, 2.0]), "weights_mul"),
        (lambda: dtw(np.ones((3, 5)), step_sizes=[[1, 1]]), "no warping path"),
        (lambda: cost_matrix(np.ones((3, 4)), np.ones((2, 4))), "equal dims"),
        (lambda: cost_matrix(np.ones((3, 4)), np.ones((3, 4)), "manhattan"), "metric"),
        (lambda: multiscale_dtw(np.ones((3, 40)), np.ones((2, 40))), "dims"),
    ],
)
def test_bad_input_raises_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def warped_random_walk(rng, n, m, dims=8, noise=0.05):
    """A random-walk feature sequence, a smoothly time-warped noisy copy, and the true (n, m) time map."""
    X = np.cumsum(rng.standard_normal((dims, n)), axis=1)
    t = np.linspace(0, 1, m)
    source = (t + 0.08 * np.sin(2 * np.pi * 3 * t) * t * (1 - t) * 4) * (n - 1)
    Y = np.stack([np.interp(source, np.arange(n), row) for row in X]) + noise * rng.standard_normal((dims, m))
    return X, Y


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "cosine"])
def test_multiscale_equals_exact_dtw_when_inside_band(metric):
    rng = np.random.default_rng(7)
    X, Y = warped_random_walk(rng, 700, 800)
    exact_cost, exact_path = dtw(cost_matrix(X, Y, metric))
    cost, path = multiscale_dtw(X, Y, metric, radius=8, factor=3, exact_size=60)  # three coarser levels
    assert path_error(path, exact_path) == 0.0
    assert cost == pytest.approx(exact_cost, rel=1e-9)


def test_multiscale_path_is_valid_and_close_with_narrow_band():
    rng = np.random.default_rng(8)
    X, Y = warped_random_walk(rng, 900, 650, noise=0.5)
    exact_cost, exact_path = dtw(cost_matrix(X, Y))
    cost, path = multiscale_dtw(X, Y, radius=1, factor=4, exact_size=50)
    steps = np.diff(path, axis=0)
    assert tuple(path[0]) == (0, 0) and tuple(path[-1]) == (899, 649)
    assert ((steps >= 0) & (steps <= 1)).all() and (steps.sum(axis=1) >= 1).all()
    C = cost_matrix(X, Y).numpy()
    assert cost == pytest.approx(C[path[:, 0], path[:, 1]].sum(), rel=1e-9)
    assert exact_cost <= cost <= 1.2 * exact_cost  # a 1-frame band is too narrow to be exact here
    assert path_error(path, exact_path) < 1.0
