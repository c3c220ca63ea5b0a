"""Timing shared by the benches: best of N alternating runs in one process, thread pinning, load average.

A shared machine slows runs at random; alternating the candidates spreads that over all of them, and the
best of N is the run least disturbed. Every candidate runs on the same torch intra-op thread count.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import contextmanager

from threadpoolctl import threadpool_limits

from common.threads import intra_op_threads


def load_average() -> str:
    """``load average 1/5/15 min on N cores`` (how busy the machine was; > cores means queued work)."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} (1/5/15 min) on {os.cpu_count()} cores"


@contextmanager
def threads(n: int):
    """Run the block with torch on ``n`` intra-op threads and numpy's BLAS (librosa's) on ``n`` threads."""
    with intra_op_threads(n), threadpool_limits(limits=n):
        yield


def best_of(candidates: dict[str, Callable[[], object]], rounds: int, warmup: bool = True) -> dict[str, float]:
    """Best wall time (s) of each candidate over ``rounds`` rounds in which the candidates take turns."""
    if warmup:
        for run in candidates.values():  # caches, FFT plans, numba compilation
            run()
    best = dict.fromkeys(candidates, float("inf"))
    for _ in range(rounds):
        for name, run in candidates.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return best
