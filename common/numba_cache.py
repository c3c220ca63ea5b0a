"""One numba compilation at a time across processes, so that parallel workers cannot corrupt a shared cache.

numba's on-disk cache (``cache=True``, as librosa's pitch and chroma kernels use, kept in librosa's
``__pycache__`` inside the venv) is not safe for concurrent writers: two processes that compile the same cached
gufunc at once can leave an index naming the other process's code, after which every process that loads it
segfaults (numba issue 10128). That is what an eval's worker pool does on a fresh venv. :func:`serialise_compilation`
wraps numba's in-process compiler lock in an exclusive ``flock`` on one machine-wide file, held for the outermost
acquisition: a process that waits then finds the other's result in the cache and loads it instead of compiling.
"""

from __future__ import annotations

import os
import tempfile

LOCK_FILE = os.path.join(tempfile.gettempdir(), "musicrep-numba-compile.lock")


def serialise_compilation(path: str = LOCK_FILE) -> bool:
    """Make numba's global compiler lock also hold an exclusive lock on ``path`` while any thread of this process
    compiles (or loads from the cache); idempotent. Returns False, changing nothing, without numba or ``fcntl``
    (Windows)."""
    try:
        import fcntl

        from numba.core.compiler_lock import global_compiler_lock as lock
    except ImportError:
        return False
    if getattr(lock, "file_lock_path", None) is not None:
        return True
    acquire, release = lock.acquire, lock.release
    state = {"depth": 0, "fd": -1}  # guarded by numba's own re-entrant lock

    def acquire_both() -> None:
        acquire()
        state["depth"] += 1
        if state["depth"] == 1:
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o666)  # read-only: another user's file will do
            except OSError:  # no usable lock file: compile as numba alone would, rather than fail
                return
            fcntl.flock(fd, fcntl.LOCK_EX)
            state["fd"] = fd

    def release_both() -> None:
        state["depth"] -= 1
        if state["depth"] == 0 and state["fd"] >= 0:
            fd, state["fd"] = state["fd"], -1
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        release()

    lock.acquire, lock.release, lock.file_lock_path = acquire_both, release_both, path
    return True
