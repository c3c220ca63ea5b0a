"""``common.numba_cache``: numba compiles one process at a time, so parallel workers cannot corrupt a shared cache."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

HOLDER = """
import sys
import common  # installs the machine-wide compile lock
from numba.core.compiler_lock import global_compiler_lock
with global_compiler_lock:
    print("held", flush=True)
    sys.stdin.readline()  # until the test says release
"""

WAITER = """
import sys
import common
from numba import njit
@njit
def plus_one(x):
    return x + 1
plus_one(1)
open(sys.argv[1], "w").write("compiled")
"""

CHROMA = """
import sys
import numpy as np
import common
import librosa
y = np.sin(2 * np.pi * 440 * np.arange(22050) / 22050).astype(np.float32 if sys.argv[1] == "32" else np.float64)
assert librosa.feature.chroma_stft(y=y, sr=22050).mean(1).argmax() == 9  # A
"""


def _env(tmp_path: Path) -> dict:
    """The lock file and the numba cache in ``tmp_path``, this checkout on the path (as the other subprocess tests)."""
    return {**os.environ, "TMPDIR": str(tmp_path), "NUMBA_CACHE_DIR": str(tmp_path / "numba"), "PYTHONPATH": str(ROOT)}


def test_a_compile_waits_while_another_process_compiles(tmp_path):
    env, done = _env(tmp_path), tmp_path / "compiled.txt"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        waiter = subprocess.Popen([sys.executable, "-c", WAITER, str(done)], env=env)
        time.sleep(8.0)  # importing numba and compiling one line take a few seconds when nothing holds the lock
        assert not done.exists() and waiter.poll() is None
        holder.stdin.write("release\n")
        holder.stdin.flush()
        assert waiter.wait(timeout=120) == 0 and done.read_text() == "compiled"
    finally:
        holder.kill()
    assert (tmp_path / "musicrep-numba-compile.lock").is_file()


def test_without_a_usable_lock_file_numba_still_compiles(tmp_path):
    (tmp_path / "musicrep-numba-compile.lock").symlink_to(tmp_path / "missing" / "lock")  # cannot be created
    done = tmp_path / "compiled.txt"
    subprocess.run([sys.executable, "-c", WAITER, str(done)], env=_env(tmp_path), check=True, timeout=120)
    assert done.read_text() == "compiled"


@pytest.mark.slow
def test_parallel_first_use_of_librosa_leaves_a_cache_every_process_can_load(tmp_path):
    """The failure this prevents: four processes compiling librosa's cached chroma kernels (float32 and float64)
    into one fresh cache at once left it corrupt in 4 of 6 trials without the lock; each later process
    segfaulted."""
    for trial in range(3):
        env = _env(tmp_path / f"trial{trial}")
        (tmp_path / f"trial{trial}").mkdir()
        first = [subprocess.Popen([sys.executable, "-c", CHROMA, bits], env=env) for bits in ("32", "32", "64", "64")]
        assert [p.wait(timeout=600) for p in first] == [0, 0, 0, 0]
        for bits in ("32", "64"):
            assert subprocess.run([sys.executable, "-c", CHROMA, bits], env=env, timeout=600).returncode == 0
