"""Shared speech2sing test setup: the tiny synthetic NUS-48E (2 songs x 2 singers, song 01 held out) and a
small P-MSE model trained through the real CLI in a temp dir, once per session; torch on one thread (tests.project)."""

from pathlib import Path

import pytest

from speech2sing.config import Speech2SingConfig
from tests.project import TinyProject, one_torch_thread  # noqa: F401 (fixtures)

SMALL = ["model.channels=64", "model.phone_channels=32", "data.crop_frames=64", "data.batch_size=8",
         "eval.recogniser_steps=30", "threads=1"]


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> TinyProject:
    root = tmp_path_factory.mktemp("speech2sing")
    paths = [f"data.root={root}/synthetic", "data.corpus_size=tiny"]
    return TinyProject("speech2sing", Speech2SingConfig, root, [*paths, *SMALL])


@pytest.fixture(scope="session")
def checkpoint(tiny) -> Path:
    """P-MSE trained 500 steps on the two training recordings (song 02)."""
    assert tiny.run("train", "system=p_mse", "trainer.max_steps=500") == 0
    path = tiny.root / "runs/speech2sing/default/p_mse/checkpoints/last.ckpt"
    assert path.is_file()
    return path
