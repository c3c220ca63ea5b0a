"""DTW benchmark: common.dtw vs librosa.sequence.dtw, and multiscale DTW on 30-minute sequences.

Prints markdown tables: exact DTW time (ours / librosa, same cost matrix, best of 5 alternating runs in one
process, one thread) on 5000 x 5500 with the equality of cost and path; peak memory of each measured in a
fresh child process (VmHWM minus the RSS before the call); multiscale DTW on 90,000 x 90,000 (30 min at
50 frames/s, 20-d features) for time, peak memory and error against the known warp; and its path error
against exact DTW on 8,000 x 8,800.
The load average is printed at the start and the end, and the ratio line comes last.

    .venv/bin/python bench/dtw.py
"""

import json
import subprocess
import sys
import time

import librosa
import numpy as np
import scipy.signal
from timing import best_of, load_average, threads

from common.align import path_error, path_from_positions
from common.dtw import cost_matrix, dtw, multiscale_dtw

DIMS = 20


def features_and_warp(n: int, m: int, seed: int = 0, noise: float = 0.3):
    """AR(1) 20-d features ``X (d, n)``, a smoothly warped copy ``Y (d, m)`` with white noise of ``noise``
    times the feature std, and the true path."""
    rng = np.random.default_rng(seed)
    X = scipy.signal.lfilter([1.0], [1.0, -0.98], rng.standard_normal((n, DIMS)), axis=0)
    log_rate = np.interp(np.arange(m), np.linspace(0, m - 1, max(m // 500, 2)), rng.normal(0, 0.25, max(m // 500, 2)))
    steps = np.exp(log_rate)
    positions = np.concatenate([[0.0], np.cumsum(steps[:-1])]) * (n - 1) / steps[:-1].sum()
    Y = np.stack([np.interp(positions, np.arange(n), column) for column in X.T])
    Y += noise * X.std() * rng.standard_normal(Y.shape)
    return X.T.copy(), Y, path_from_positions(positions, n)


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field))


def child(task: str) -> None:
    """Run one task after building its inputs; print JSON with seconds and peak memory above the start."""
    if task in ("ours", "librosa"):
        X, Y, _ = features_and_warp(5000, 5500)
        C = cost_matrix(X, Y).numpy()
        dtw(C[:50, :50]) if task == "ours" else librosa.sequence.dtw(C=C[:50, :50])  # compile / load cache
    else:
        X, Y, true_path = features_and_warp(90_000, 90_000)
        multiscale_dtw(X[:, :3000], Y[:, :3000])
    before = _rss_kib("VmRSS")
    start = time.perf_counter()
    if task == "ours":
        dtw(C)
    elif task == "librosa":
        librosa.sequence.dtw(C=C)
    else:
        _, path = multiscale_dtw(X, Y)
    seconds = time.perf_counter() - start
    result = {"seconds": seconds, "peak_mib": (_rss_kib("VmHWM") - before) / 1024, "rss_mib": _rss_kib("VmHWM") / 1024}
    if task == "multiscale":
        result["error_vs_true"] = path_error(path, true_path)
    print(json.dumps(result))


def run_child(task: str) -> dict:
    out = subprocess.run([sys.executable, __file__, task], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    X, Y, _ = features_and_warp(5000, 5500)
    C = cost_matrix(X, Y).numpy()
    dtw(C[:50, :50]), librosa.sequence.dtw(C=C[:50, :50])  # numba compilation / cache load outside the timing
    ours_cost, ours_path = dtw(C)
    D, wp = librosa.sequence.dtw(C=C)
    same = ours_cost == D[-1, -1] and np.array_equal(ours_path, wp[::-1])
    del D, wp
    print(f"{load_average()} at start\n")
    with threads(1):  # both are single-threaded numba loops; C is computed outside the timing
        best = best_of({"ours": lambda: dtw(C), "librosa": lambda: librosa.sequence.dtw(C=C)}, 5, warmup=False)
    t_ours, t_ref = best["ours"], best["librosa"]
    mem_ours, mem_ref = run_child("ours"), run_child("librosa")
    print("## Exact DTW, 5000 x 5500 euclidean costs (same C, best of 5 interleaved)\n")
    print("| | ours | librosa | ours / librosa |\n|---|---|---|---|")
    print(f"| time (s) | {t_ours:.3f} | {t_ref:.3f} | {t_ours / t_ref:.3f} ({t_ref / t_ours:.1f}x faster) |")
    print(f"| peak memory above C (MiB) | {mem_ours['peak_mib']:.0f} | {mem_ref['peak_mib']:.0f} "
          f"| {mem_ours['peak_mib'] / mem_ref['peak_mib']:.3f} |")
    print(f"| same cost and path | {same} | | |\n")

    ms = run_child("multiscale")
    print("## Multiscale DTW, 90,000 x 90,000 (30 min at 50 frames/s, 20-d, defaults)\n")
    print("| time (s) | peak memory above inputs (MiB) | process peak RSS (MiB) | path error vs true warp (frames) |")
    print("|---|---|---|---|")
    print(f"| {ms['seconds']:.2f} | {ms['peak_mib']:.0f} | {ms['rss_mib']:.0f} | {ms['error_vs_true']:.2f} |\n")

    print("## Multiscale vs exact DTW, 8,000 x 8,800 (noise: std relative to the features')\n")
    print("| noise | radius | time (s) | exact time (s) | cost / exact cost | path error vs exact (frames) "
          "| error vs true warp: multiscale / exact |\n|---|---|---|---|---|---|---|")
    for noise in (0.3, 2.0):
        X, Y, true_path = features_and_warp(8000, 8800, seed=1, noise=noise)
        start = time.perf_counter()
        exact_cost, exact_path = dtw(cost_matrix(X.astype(np.float32), Y.astype(np.float32)).numpy())
        t_exact = time.perf_counter() - start
        for radius in (1, 4, 16):
            start = time.perf_counter()
            cost, path = multiscale_dtw(X, Y, radius=radius)
            t_ms = time.perf_counter() - start
            errors = f"{path_error(path, true_path):.3f} / {path_error(exact_path, true_path):.3f}"
            print(f"| {noise} | {radius} | {t_ms:.2f} | {t_exact:.2f} | {cost / exact_cost:.6f} "
                  f"| {path_error(path, exact_path):.4f} | {errors} |")
    print(f"\n{load_average()} at the end")
    print(f"ratio ours / librosa, exact DTW 5000 x 5500 time, best of 5 alternating, 1 thread: {t_ours / t_ref:.3f}")

if __name__ == "__main__":
    child(sys.argv[1]) if len(sys.argv) > 1 else main()
