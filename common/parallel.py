"""Independent jobs of an evaluation (one model per seed or variant) in several processes.

Each worker is a fresh *spawned* interpreter (no inherited torch threads or CUDA state) that runs torch on
one intra-op thread and logs like the command line that started it, so a worker's training is quiet in the
same way and its result does not depend on which process ran it. Jobs go in as module-level functions and
picklable arguments (e.g. ``OmegaConf.to_container(cfg)``)."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack, contextmanager
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


def _start_worker(root_level: int, log_level: str, threads: int = 1) -> None:
    _die_with_parent()
    import torch

    from common.lightning.verbosity import LOG_FORMAT, configure_logging

    torch.set_num_threads(threads)
    logging.basicConfig(level=root_level, format=LOG_FORMAT)
    configure_logging(log_level)


class PoolMap:
    """``map(fn, *iterables)`` over the processes of :func:`worker_pool` (results in input order); it remembers
    how the workers log, for the extra workers of :func:`map_by_threads`."""

    def __init__(self, pool: ProcessPoolExecutor, root_level: int, log_level: str):
        self.pool, self.root_level, self.log_level = pool, root_level, log_level

    def __call__(self, fn: Callable, *iterables) -> Iterator:
        return self.pool.map(fn, *iterables)

    @contextmanager
    def threaded_worker(self, threads: int) -> Iterator[ProcessPoolExecutor]:
        """One more spawned worker, on ``threads`` torch threads whose OpenMP threads sleep when idle
        (``OMP_WAIT_POLICY=PASSIVE``, read when the process starts): beside the one-thread workers they do not
        spin on the cores those need. Leaving on an error cancels its jobs that have not started."""
        executor = _PassiveExecutor(1, mp_context=get_context("spawn"), initializer=_start_worker,
                                    initargs=(self.root_level, self.log_level, threads))
        try:
            yield executor
        except BaseException:
            executor.shutdown(cancel_futures=True)
            raise
        executor.shutdown()


class _PassiveExecutor(ProcessPoolExecutor):
    """A process pool whose workers start with ``OMP_WAIT_POLICY=PASSIVE`` in their environment (they are spawned
    on the first submits)."""

    def submit(self, fn, /, *args, **kwargs):
        previous = os.environ.get("OMP_WAIT_POLICY")
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
        try:
            return super().submit(fn, *args, **kwargs)
        finally:
            if previous is None:
                del os.environ["OMP_WAIT_POLICY"]
            else:
                os.environ["OMP_WAIT_POLICY"] = previous


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
            yield PoolMap(pool, root_level, log_level)
        except BrokenProcessPool as err:
            raise WorkerDied(
                f"a worker process of {key}={workers} died without a Python error (killed, out of memory, or a crash "
                f"in native code): rerun with {key}=0 to run its jobs in this process and see where; a crash inside "
                f"numba code means a corrupt numba cache, which `find {sys.prefix} -name '*.nb[ci]' -delete` clears"
            ) from err


def _on_threads(threads: int, fn: Callable, *args):
    with intra_op_threads(threads):
        return fn(*args)


def map_by_threads(run: Callable, fn: Callable, jobs: Sequence[tuple], threads: Sequence[int]) -> list:
    """``[fn(*job) for job in jobs]`` in input order, each job on ``threads[i]`` torch threads. With ``run`` a
    :class:`PoolMap` (``worker_pool`` of two or more workers), the one-thread jobs go through ``run`` and, at the same
    time, the jobs of each larger thread count one after another through one more worker of that many threads
    (:meth:`PoolMap.threaded_worker`), so that the cores stay busy: a small model's second thread adds little (a
    two-thread speech2sing step is no faster than a one-thread one, a music_translation step 1.3x), and a
    two-thread job alone left half of two cores idle. Its idle OpenMP threads sleep instead of spinning, so it
    takes its share of the cores beside the one-thread workers. Without a pool (``run`` = ``map``), all in this
    process, the one-thread jobs first. The thread count, not the process or its wait policy, sets the float
    summation order, so where a job runs does not change its result."""
    if len(jobs) != len(threads):
        raise ValueError(f"map_by_threads: {len(jobs)} jobs but {len(threads)} thread counts")
    single = [i for i, t in enumerate(threads) if t <= 1]
    multi = [i for i, t in enumerate(threads) if t > 1]
    results = {}
    with ExitStack() as stack:
        if isinstance(run, PoolMap):
            workers = {t: stack.enter_context(run.threaded_worker(t)) for t in sorted({threads[i] for i in multi})}
            futures = {i: workers[threads[i]].submit(_on_threads, threads[i], fn, *jobs[i]) for i in multi}
        else:
            futures = {}
        if single:
            results.update(zip(single, run(fn, *zip(*(jobs[i] for i in single)))))
        for i in multi:
            results[i] = futures[i].result() if futures else _on_threads(threads[i], fn, *jobs[i])
    return [results[i] for i in range(len(jobs))]
