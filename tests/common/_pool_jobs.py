"""Module-level jobs for tests/common/test_parallel.py (spawned workers import them by name)."""

import logging
import os

import torch


def describe(tag: str) -> tuple[str, int, int]:
    """(tag, process id, torch intra-op threads) of the process that runs the job."""
    logging.getLogger("da_vae.job").info("job %s ran", tag)
    logging.getLogger("lightning.pytorch").info("lightning chatter %s", tag)
    return tag, os.getpid(), torch.get_num_threads()


def describe_timed(tag: str, meet: str | None = None,
                   others: int = 0) -> tuple[str, int, int, float, float, str | None]:
    """:func:`describe` of a job that takes 0.3 s, with its start and end on the system-wide monotonic clock and the
    OMP_WAIT_POLICY its process started with. With ``meet`` (a folder), it first waits there until ``others`` other
    jobs have arrived: jobs that run one after the other in one process never meet, and the wait times out."""
    import time
    from pathlib import Path

    start = time.monotonic()
    if meet:
        Path(meet, tag).touch()
        while len(list(Path(meet).iterdir())) < others + 1:
            if time.monotonic() - start > 120:
                raise TimeoutError(f"job {tag} waited 120 s for {others} other job(s) to run beside it")
            time.sleep(0.05)
    time.sleep(0.3)
    return (*describe(tag), start, time.monotonic(), os.environ.get("OMP_WAIT_POLICY"))


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
