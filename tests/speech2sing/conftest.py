"""Shared speech2sing test setup: the tiny synthetic NUS-48E (2 songs x 2 singers, song 01 held out) and a
small P-MSE model trained through the real CLI in a temp dir, once per session; torch on one thread."""

from pathlib import Path

import pytest
import torch

from common.lightning import load_config, main
from speech2sing.__main__ import VERBS
from speech2sing.config import Speech2SingConfig

SMALL = ["model.channels=64", "model.phone_channels=32", "data.crop_frames=64", "data.batch_size=8",
         "eval.recogniser_steps=30", "threads=1"]


@pytest.fixture(autouse=True)
def one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


class TinyProject:
    """``python -m speech2sing`` on the tiny corpus, everything written under ``root``."""

    def __init__(self, root: Path):
        self.root = root
        self.overrides = [f"run.root={root}/runs", f"data.root={root}/synthetic", "data.corpus_size=tiny",
                          f"eval.out={root}/reports", *SMALL]

    def run(self, verb: str, *args: str) -> int:
        return main("speech2sing", Speech2SingConfig, VERBS, [verb, *map(str, args), *self.overrides])

    def config(self, *overrides: str):
        return load_config(Speech2SingConfig, "speech2sing", "default", [*self.overrides, *overrides])


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> TinyProject:
    return TinyProject(tmp_path_factory.mktemp("speech2sing"))


@pytest.fixture(scope="session")
def checkpoint(tiny) -> Path:
    """P-MSE trained 500 steps on the two training recordings (song 02)."""
    assert tiny.run("train", "system=p_mse", "trainer.max_steps=500") == 0
    path = tiny.root / "runs/speech2sing/default/p_mse/checkpoints/last.ckpt"
    assert path.is_file()
    return path
