"""Module-level jobs for tests/common/test_parallel.py (spawned workers import them by name)."""

import logging
import os

import torch


def describe(tag: str) -> tuple[str, int, int]:
    """(tag, process id, torch intra-op threads) of the process that runs the job."""
    logging.getLogger("da_vae.job").info("job %s ran", tag)
    logging.getLogger("lightning.pytorch").info("lightning chatter %s", tag)
    return tag, os.getpid(), torch.get_num_threads()


def describe_timed(tag: str, seconds: float = 0.3) -> tuple[str, int, int, float, float, str | None]:
    """:func:`describe` of a job that takes ``seconds``, with its start and end on the system-wide monotonic clock
    and the OpenMP wait policy of its process's environment."""
    import time

    start = time.monotonic()
    time.sleep(seconds)
    return (*describe(tag), start, time.monotonic(), os.environ.get("OMP_WAIT_POLICY"))


def square_sum(seed: int) -> float:
    """Sum of squares of 2M normal draws of ``seed``, on this process's torch threads: the split of the sum
    depends on the thread count (1 and 2 threads differ in the last bits)."""
    x = torch.randn(2_000_000, generator=torch.Generator().manual_seed(seed))
    return float((x * x).sum())


def sleep_and_report(pid_file: str) -> None:
    """Write this worker's pid, then sleep far longer than any test."""
    import time
    from pathlib import Path

    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(600)


def ignore_sigterm_and_sleep(pid_file: str) -> None:
    """As :func:`sleep_and_report`, with SIGTERM ignored (a job that handles it, as Lightning's trainer does)."""
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sleep_and_report(pid_file)


def crash(_: int) -> None:
    """Die as a native crash does: SIGSEGV, no Python error."""
    import signal

    os.kill(os.getpid(), signal.SIGSEGV)
