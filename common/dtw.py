"""Dynamic time warping: batched cost matrices (torch), exact DTW (numba) and multiscale DTW for long inputs.

Conventions: feature sequences are ``(..., dims, frames)`` like ``librosa`` and ``common.spectral``; a cost
matrix ``C`` is ``(N, M)`` with rows indexing the first sequence; a warping path is an int64 array
``(K, 2)`` of ``(row, column)`` pairs in ascending order.

``dtw`` computes the same accumulated cost and path as ``librosa.sequence.dtw(C=C, ...)`` (same step
sizes, additive/multiplicative weights and tie-breaking: among equal predecessors the step listed first
wins, the default order being diagonal, horizontal ``(0, 1)``, vertical ``(1, 0)``). It stores one byte per
cell (the chosen step) plus a few rows of accumulated cost, where librosa keeps 12 bytes per cell.
"""

import numba
import numpy as np
import torch

DEFAULT_STEPS = np.array([[1, 1], [0, 1], [1, 0]], dtype=np.int64)
METRICS = ("euclidean", "sqeuclidean", "cosine")


def cost_matrix(X, Y, metric: str = "euclidean", eps: float = 1e-12) -> torch.Tensor:
    """Pairwise frame costs ``(..., N, M)`` between ``X (..., d, N)`` and ``Y (..., d, M)`` on their device.

    ``cosine`` is ``1 - <x, y> / max(|x| |y|, eps)`` (scipy's definition; a zero frame costs 1).
    """
    if metric not in METRICS:
        raise ValueError(f"metric={metric!r} is not supported; use one of {METRICS}")
    X, Y = torch.as_tensor(X), torch.as_tensor(Y)
    if X.ndim < 2 or Y.ndim < 2 or X.shape[-2] != Y.shape[-2]:
        raise ValueError(f"X {tuple(X.shape)} and Y {tuple(Y.shape)} must be (..., dims, frames) with equal dims")
    X, Y = X.transpose(-1, -2), Y.transpose(-1, -2)
    if metric == "cosine":
        dots = X @ Y.transpose(-1, -2)
        norms = X.norm(dim=-1).unsqueeze(-1) * Y.norm(dim=-1).unsqueeze(-2)
        return 1.0 - dots / norms.clamp_min(eps)
    distance = torch.cdist(X, Y)
    return distance.square() if metric == "sqeuclidean" else distance


@numba.njit(cache=True)
def _accumulate(C, steps, w_add, w_mul, subseq):
    """Fill the (N, M) uint8 step-choice matrix; return the last row of accumulated cost."""
    N, M = C.shape
    n_steps = steps.shape[0]
    depth = steps[:, 0].max() + 1
    D = np.full((depth, M), np.inf)  # ring buffer of the last `depth` rows
    choice = np.zeros((N, M), dtype=np.uint8)
    for n in range(N):
        row = n % depth
        for m in range(M):
            best = C[n, m] * 1.0 if (n == 0 and (m == 0 or subseq)) else np.inf
            pick = 0
            for s in range(n_steps):
                pn, pm = n - steps[s, 0], m - steps[s, 1]
                if pn < 0 or pm < 0:
                    continue
                cost = D[pn % depth, pm] + (w_mul[s] * C[n, m] + w_add[s])
                if cost < best:
                    best, pick = cost, s
            D[row, m] = best
            choice[n, m] = pick
    return D[(N - 1) % depth].copy(), choice


@numba.njit(cache=True)
def _accumulate_default(C, w_add, w_mul, subseq):
    """`_accumulate` specialised to the steps (1, 1), (0, 1), (1, 0): two rows of cost, no inner loop."""
    N, M = C.shape
    prev, cur = np.full(M, np.inf), np.full(M, np.inf)
    choice = np.zeros((N, M), dtype=np.uint8)
    for n in range(N):
        for m in range(M):
            c = C[n, m]
            best = c * 1.0 if (n == 0 and (m == 0 or subseq)) else np.inf
            pick = 0
            if n > 0 and m > 0:
                diag = prev[m - 1] + (w_mul[0] * c + w_add[0])
                if diag < best:
                    best = diag
            if m > 0:
                horiz = cur[m - 1] + (w_mul[1] * c + w_add[1])
                if horiz < best:
                    best, pick = horiz, 1
            if n > 0:
                vert = prev[m] + (w_mul[2] * c + w_add[2])
                if vert < best:
                    best, pick = vert, 2
            cur[m] = best
            choice[n, m] = pick
        prev, cur = cur, prev
    return prev.copy(), choice


@numba.njit(cache=True)
def _backtrack(choice, steps, end_col, subseq, row_start, row_lo):
    """Follow step choices back from (N-1, end_col); ``choice`` is flat with per-row offsets/column starts."""
    N = row_start.shape[0]
    path = np.empty((N + end_col + 2, 2), dtype=np.int64)
    n, m, k = N - 1, end_col, 0
    path[0, 0], path[0, 1] = n, m
    while (n > 0) if subseq else (n > 0 or m > 0):
        s = choice[row_start[n] + m - row_lo[n]]
        n, m = n - steps[s, 0], m - steps[s, 1]
        if n < 0 or m < 0:
            break
        k += 1
        path[k, 0], path[k, 1] = n, m
    return path[: k + 1][::-1].copy()


def _as_cost(C) -> np.ndarray:
    C = C.detach().cpu().numpy() if isinstance(C, torch.Tensor) else np.asarray(C)
    if C.ndim != 2 or C.size == 0:
        raise ValueError(f"C must be a non-empty 2-D cost matrix (N, M), got shape {C.shape}")
    if C.dtype not in (np.float32, np.float64):
        C = C.astype(np.float64)
    if np.isnan(C).any():
        raise ValueError("C contains NaN; clean the features or the cost function before DTW")
    return np.ascontiguousarray(C)


def _step_table(step_sizes, weights_add, weights_mul):
    steps = DEFAULT_STEPS if step_sizes is None else np.asarray(step_sizes, dtype=np.int64)
    if steps.ndim != 2 or steps.shape[1] != 2 or not 0 < len(steps) <= 255 or (steps < 0).any():
        raise ValueError(f"step_sizes must be 1..255 non-negative (row, column) pairs, got {steps.tolist()}")
    if (steps.sum(axis=1) == 0).any():
        raise ValueError("step_sizes must not contain (0, 0); every step has to move")
    w_add = np.zeros(len(steps)) if weights_add is None else np.asarray(weights_add, dtype=np.float64)
    w_mul = np.ones(len(steps)) if weights_mul is None else np.asarray(weights_mul, dtype=np.float64)
    for name, w in (("weights_add", w_add), ("weights_mul", w_mul)):
        if w.shape != (len(steps),):
            raise ValueError(f"{name} must have one weight per step ({len(steps)}), got shape {w.shape}")
    return steps, w_add, w_mul


def dtw(C, step_sizes=None, weights_add=None, weights_mul=None, subseq: bool = False):
    """Exact DTW on a cost matrix ``C (N, M)`` (numpy or torch). Returns ``(cost, path)``.

    ``D[n, m] = min_s D[n - a_s, m - b_s] + weights_mul[s] * C[n, m] + weights_add[s]`` with
    ``step_sizes`` rows ``(a_s, b_s)`` (default ``(1, 1), (0, 1), (1, 0)``). ``cost`` is ``D[N-1, M-1]``;
    ``path (K, 2)`` runs from ``(0, 0)`` to ``(N-1, M-1)``. With ``subseq=True`` the rows (query) are
    matched to the best-fitting contiguous span of columns: the path starts in row 0 and ends in row N-1
    at any column, and ``cost = min_m D[N-1, m]`` (first minimum on ties, as librosa).
    """
    C = _as_cost(C)
    steps, w_add, w_mul = _step_table(step_sizes, weights_add, weights_mul)
    if step_sizes is None:
        last_row, choice = _accumulate_default(C, w_add, w_mul, subseq)
    else:
        last_row, choice = _accumulate(C, steps, w_add, w_mul, subseq)
    end_col = int(np.argmin(last_row)) if subseq else C.shape[1] - 1
    cost = float(last_row[end_col])
    if not np.isfinite(cost):
        raise ValueError(f"no warping path of shape {C.shape} exists with step_sizes {steps.tolist()}; "
                         "add smaller steps or use subseq=True")
    N, M = C.shape
    row_start = np.arange(N, dtype=np.int64) * M
    path = _backtrack(choice.reshape(-1), steps, end_col, subseq, row_start, np.zeros(N, dtype=np.int64))
    return cost, path


@numba.njit(cache=True)
def _frame_cost(X, Y, n, m, metric, x_norm, y_norm):
    acc = 0.0
    if metric == 2:
        for k in range(X.shape[1]):
            acc += X[n, k] * Y[m, k]
        return 1.0 - acc / max(x_norm[n] * y_norm[m], 1e-12)
    for k in range(X.shape[1]):
        diff = X[n, k] - Y[m, k]
        acc += diff * diff
    return np.sqrt(acc) if metric == 0 else acc


@numba.njit(cache=True)
def _accumulate_band(X, Y, lo, hi, metric):
    """Default-step DTW restricted to columns ``lo[n]..hi[n]`` of each row, costs computed on the fly.

    Memory: one byte per band cell plus two band-wide rows. Returns (cost, flat choices, row offsets).
    """
    N = X.shape[0]
    x_norm = np.sqrt((X * X).sum(axis=1))
    y_norm = np.sqrt((Y * Y).sum(axis=1))
    row_start = np.zeros(N, dtype=np.int64)
    for n in range(1, N):
        row_start[n] = row_start[n - 1] + hi[n - 1] - lo[n - 1] + 1
    choice = np.zeros(row_start[N - 1] + hi[N - 1] - lo[N - 1] + 1, dtype=np.uint8)
    width = (hi - lo).max() + 1
    prev, cur = np.full(width, np.inf), np.full(width, np.inf)
    for n in range(N):
        for m in range(lo[n], hi[n] + 1):
            c = _frame_cost(X, Y, n, m, metric, x_norm, y_norm)
            best = c if (n == 0 and m == 0) else np.inf
            pick = 0
            if n > 0 and lo[n - 1] <= m - 1 <= hi[n - 1]:
                best = min(best, prev[m - 1 - lo[n - 1]] + c)
            if m > lo[n] and cur[m - 1 - lo[n]] + c < best:
                best, pick = cur[m - 1 - lo[n]] + c, 1
            if n > 0 and lo[n - 1] <= m <= hi[n - 1] and prev[m - lo[n - 1]] + c < best:
                best, pick = prev[m - lo[n - 1]] + c, 2
            cur[m - lo[n]] = best
            choice[row_start[n] + m - lo[n]] = pick
        prev, cur = cur, prev
    return prev[hi[N - 1] - lo[N - 1]], choice, row_start


def _band_around(path: np.ndarray, factor: int, N: int, M: int, radius: int):
    """Per-row column bounds (lo, hi) covering a coarse path's cells at ``factor``x resolution +- radius."""
    rows, cols = path[:, 0] * factor, path[:, 1] * factor
    lo, hi = np.full(N, M, dtype=np.int64), np.full(N, -1, dtype=np.int64)
    for offset in range(factor):
        r = np.minimum(rows + offset, N - 1)
        np.minimum.at(lo, r, cols)
        np.maximum.at(hi, r, np.minimum(cols + factor - 1, M - 1))
    lo = np.concatenate([np.zeros(radius, np.int64), lo])[:N]  # widen by radius rows: min over n-radius..n
    hi = np.concatenate([hi, np.full(radius, M - 1, np.int64)])[radius:]
    return np.clip(lo - radius, 0, M - 1), np.clip(hi + radius, 0, M - 1)


def _coarsen(X: np.ndarray, factor: int) -> np.ndarray:
    """Average frames of ``X (frames, dims)`` in blocks of ``factor`` (last block may be shorter)."""
    starts = np.arange(0, len(X), factor)
    counts = np.diff(np.append(starts, len(X)))[:, None]
    return np.ascontiguousarray(np.add.reduceat(X, starts, axis=0) / counts)


def multiscale_dtw(X, Y, metric: str = "euclidean", radius: int = 16, factor: int = 4, exact_size: int = 2000):
    """Approximate DTW of long feature sequences ``X (d, N)``, ``Y (d, M)``. Returns ``(cost, path)``.

    Both sequences are averaged ``factor``x repeatedly until the longer one is at most ``exact_size``
    frames; that level is aligned exactly, and each finer level is aligned within the previous path
    projected up and widened by ``radius`` frames, with costs computed on the fly. Default steps and unit
    weights only. Memory is about one byte per band cell, O((N + M) * (factor + 2 * radius)), instead of
    the N * M of exact DTW; the path equals the exact one whenever the latter stays inside the band.
    """
    if metric not in METRICS:
        raise ValueError(f"metric={metric!r} is not supported; use one of {METRICS}")
    if factor < 2 or radius < 1 or exact_size < 2:
        raise ValueError(f"need factor >= 2, radius >= 1, exact_size >= 2; got {factor}, {radius}, {exact_size}")
    seqs = []
    for name, S in (("X", X), ("Y", Y)):
        S = S.detach().cpu().numpy() if isinstance(S, torch.Tensor) else np.asarray(S)
        if S.ndim != 2 or S.shape[1] == 0 or not np.isfinite(S).all():
            raise ValueError(f"{name} must be a finite (dims, frames) array, got shape {S.shape}")
        seqs.append(np.ascontiguousarray(S.T, dtype=np.float64))
    if seqs[0].shape[1] != seqs[1].shape[1]:
        raise ValueError(f"X has {seqs[0].shape[1]} dims and Y {seqs[1].shape[1]}; they must match")
    pyramid = [tuple(seqs)]
    while max(len(pyramid[-1][0]), len(pyramid[-1][1])) > exact_size:
        pyramid.append(tuple(_coarsen(S, factor) for S in pyramid[-1]))
    Xc, Yc = pyramid.pop()
    code = METRICS.index(metric)
    cost, path = dtw(cost_matrix(Xc.T, Yc.T, metric).numpy())
    for Xl, Yl in reversed(pyramid):
        lo, hi = _band_around(path, factor, len(Xl), len(Yl), radius)
        cost, choice, row_start = _accumulate_band(Xl, Yl, lo, hi, code)
        path = _backtrack(choice, DEFAULT_STEPS, len(Yl) - 1, False, row_start, lo)
    return float(cost), path
