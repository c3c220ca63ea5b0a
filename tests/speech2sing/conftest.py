"""Shared speech2sing test setup: the tiny synthetic NUS-48E (2 songs x 2 singers, song 01 held out) and a
small P-MSE model trained through the real CLI in a temp dir, once per session; torch on one thread, or on
MUSICREP_TEST_THREADS threads."""

from pathlib import Path

import pytest

from speech2sing.config import Speech2SingConfig
from tests.project import THREADS, one_torch_thread, tiny_project  # noqa: F401 (fixtures)

# MUSICREP_TEST_THREADS=2 trains the test models on two torch threads (another float summation order): the
# thresholds on trained models must hold both ways
SMALL = ["model.channels=64", "model.phone_channels=32", "data.crop_frames=64", "data.batch_size=8",
         "eval.recogniser_steps=30", f"threads={THREADS}"]

tiny = tiny_project("speech2sing", Speech2SingConfig, "tiny", SMALL, cache=False)


@pytest.fixture(scope="session")
def checkpoint(tiny) -> Path:
    """P-MSE trained 500 steps on the two training recordings (song 02)."""
    from speech2sing.training import last_checkpoint

    assert tiny.run("train", "system=p_mse", "trainer.max_steps=500") == 0
    path = last_checkpoint(tiny.config("system=p_mse"))  # .../p_mse[-threads2]/checkpoints/last.ckpt
    assert path.is_file()
    return path
