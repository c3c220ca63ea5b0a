"""Independent jobs of an evaluation (one model per seed or variant) in several processes.

Each worker is a fresh *spawned* interpreter (no inherited torch threads or CUDA state) that runs torch on one
intra-op thread (or as many as its pool is given) and logs like the command line that started it, so a worker's
training is quiet in the same way and its result does not depend on which process ran it. Jobs go in as
module-level functions and picklable arguments (e.g. ``OmegaConf.to_container(cfg)``)."""

from __future__ import annotations

import ctypes
import logging
import os
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


def _start_worker(root_level: int, log_level: str, threads: int) -> None:
    _die_with_parent()
    import torch

    from common.lightning.verbosity import LOG_FORMAT, configure_logging

    torch.set_num_threads(threads)
    logging.basicConfig(level=root_level, format=LOG_FORMAT)
    configure_logging(log_level)


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    """``os.environ`` with ``values`` set for the block (what processes spawned inside it inherit)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def worker_pool(workers: int, log_level: str = "warning", key: str = "eval.workers",
                threads: int = 1) -> Iterator[Callable]:
    """Yield ``map(fn, *iterables) -> iterator of results in input order``: with ``workers`` > 1 it runs in that
    many spawned processes (``threads`` torch threads each, logging as configured by ``log_level``), else it is the
    built-in ``map`` in this process. Workers of more than one thread start under ``OMP_WAIT_POLICY=PASSIVE``:
    their idle OpenMP threads sleep instead of spinning, so two such workers can share the cores. ``key`` names the
    config key in the errors: for a negative count, and in :class:`WorkerDied` when a worker dies (how to rerun the
    jobs in this process, where a crash shows its stack)."""
    if workers < 0:
        raise ConfigError(f"{key}={workers} is negative: use 0 or 1 for no extra processes, or the number of workers")
    if workers <= 1:
        yield map
        return
    root_level = logging.getLogger().getEffectiveLevel()
    with _environment(**({"OMP_WAIT_POLICY": "PASSIVE"} if threads > 1 else {})), \
            ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_start_worker,
                                initargs=(root_level, log_level, threads)) as pool:
        try:
            yield pool.map
        except BrokenProcessPool as err:
            raise WorkerDied(
                f"a worker process of {key}={workers} died without a Python error (killed, out of memory, or a crash "
                f"in native code): rerun with {key}=0 to run its jobs in this process and see where; a crash inside "
                f"numba code means a corrupt numba cache, which `find {sys.prefix} -name '*.nb[ci]' -delete` clears"
            ) from err


def map_by_threads(run: Callable, fn: Callable, jobs: Sequence[tuple], threads: Sequence[int], workers: int = 1,
                   log_level: str = "warning", side_by_side: bool = True) -> list:
    """``[fn(*job) for job in jobs]`` in input order, one thread count at a time: the jobs of one torch thread
    (``threads[i] <= 1``) through ``run`` (a :func:`worker_pool` map), then the jobs of each larger count t in
    rounds of ``workers`` side by side, in processes of t threads each (:func:`worker_pool`: their idle OpenMP
    threads sleep, so two two-thread gmvae_timbre models share two cores and train in 31 s, where one after the
    other take 50 s), and the jobs left over (fewer than ``workers``) one at a time in this process, where idle
    threads spin-wait: alone, a two-thread speech2sing model trains in 57 s that way and in 124 s with sleeping
    threads. ``side_by_side=False`` runs every such job alone here: for models of many small ops, which sleeping
    threads slow down more than sharing the cores gains (two two-thread music_translation models side by side
    took 500 s, one after the other 322 s). The thread count, not the process, sets the float summation order,
    so where a job runs does not change its result."""
    if len(jobs) != len(threads):
        raise ValueError(f"map_by_threads: {len(jobs)} jobs but {len(threads)} thread counts")
    results: dict[int, object] = {}
    for count in sorted(set(threads)):
        todo = [i for i, t in enumerate(threads) if t == count]
        if count <= 1:
            results.update(zip(todo, run(fn, *zip(*(jobs[i] for i in todo)))))
            continue
        rounds = len(todo) - len(todo) % workers if side_by_side and workers > 1 else 0
        if rounds:
            with worker_pool(workers, log_level, threads=count) as pool_map:
                results.update(zip(todo[:rounds], pool_map(fn, *zip(*(jobs[i] for i in todo[:rounds])))))
        with intra_op_threads(count):
            results.update((i, fn(*jobs[i])) for i in todo[rounds:])
    return [results[i] for i in range(len(jobs))]
