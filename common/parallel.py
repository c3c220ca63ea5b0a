"""Independent jobs of an evaluation (one model per seed or variant) in several processes.

Each worker is a fresh *spawned* interpreter (no inherited torch threads or CUDA state) that runs torch on
one intra-op thread and logs like the command line that started it, so a worker's training is quiet in the
same way and its result does not depend on which process ran it. Jobs go in as module-level functions and
picklable arguments (e.g. ``OmegaConf.to_container(cfg)``)."""

from __future__ import annotations

import ctypes
import logging
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from multiprocessing import get_context

from common.errors import ConfigError
from common.threads import intra_op_threads

PR_SET_PDEATHSIG = 1  # prctl option (linux/prctl.h)


def _die_with_parent() -> None:
    """Linux: the kernel kills this worker when the process that started it dies (killed eval, Ctrl-C), so no
    orphan keeps training on the CPU. SIGKILL, since a job may handle SIGTERM (Lightning's trainer does, and
    finishes its step first); a worker has nobody left to report to."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class WorkerDied(RuntimeError):
    """A worker process ended without a Python error (killed, out of memory, or a crash in native code)."""


def _start_worker(root_level: int, log_level: str) -> None:
    _die_with_parent()
    import torch

    from common.lightning.verbosity import LOG_FORMAT, configure_logging

    torch.set_num_threads(1)
    logging.basicConfig(level=root_level, format=LOG_FORMAT)
    configure_logging(log_level)


@contextmanager
def worker_pool(workers: int, log_level: str = "warning", key: str = "eval.workers") -> Iterator[Callable]:
    """Yield ``map(fn, *iterables) -> iterator of results in input order``: with ``workers`` > 1 it runs in that
    many spawned processes (one torch thread each, logging as configured by ``log_level``), else it is the
    built-in ``map`` in this process. ``key`` names the config key in the errors: for a negative count, and in
    :class:`WorkerDied` when a worker dies (how to rerun the jobs in this process, where a crash shows its stack)."""
    if workers < 0:
        raise ConfigError(f"{key}={workers} is negative: use 0 or 1 for no extra processes, or the number of workers")
    if workers <= 1:
        yield map
        return
    root_level = logging.getLogger().getEffectiveLevel()
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_start_worker,
                             initargs=(root_level, log_level)) as pool:
        try:
            yield pool.map
        except BrokenProcessPool as err:
            raise WorkerDied(
                f"a worker process of {key}={workers} died without a Python error (killed, out of memory, or a crash "
                f"in native code): rerun with {key}=0 to run its jobs in this process and see where; a crash inside "
                f"numba code means a corrupt numba cache, which `find {sys.prefix} -name '*.nb[ci]' -delete` clears"
            ) from err


def map_by_threads(run: Callable, fn: Callable, jobs: Sequence[tuple], threads: Sequence[int]) -> list:
    """``[fn(*job) for job in jobs]`` in input order, scheduled so that no core runs two threads: the jobs of one
    torch thread (``threads[i] <= 1``) through ``run`` (a :func:`worker_pool` map), then each job of more threads
    alone in this process on that many threads. Alone, its idle OpenMP threads may spin-wait, which keeps a
    small model's two threads busy (under ``OMP_WAIT_POLICY=PASSIVE`` they sleep between ops, and a two-thread
    music_translation step takes 150 ms instead of 90 ms). The thread count, not the process, sets the float
    summation order, so where a job runs does not change its result."""
    if len(jobs) != len(threads):
        raise ValueError(f"map_by_threads: {len(jobs)} jobs but {len(threads)} thread counts")
    single = [i for i, t in enumerate(threads) if t <= 1]
    results = dict(zip(single, run(fn, *zip(*(jobs[i] for i in single))))) if single else {}
    for i, t in enumerate(threads):
        if t > 1:
            with intra_op_threads(t):
                results[i] = fn(*jobs[i])
    return [results[i] for i in range(len(jobs))]
