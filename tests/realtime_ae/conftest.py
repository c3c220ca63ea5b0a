"""Shared realtime_ae test setup: the tiny synthetic scales corpus and one small model trained through the
real CLI in a temp dir (once per session), torch on one thread."""

from pathlib import Path

import pytest
import torch

from common.lightning import load_config, main
from realtime_ae.__main__ import VERBS
from realtime_ae.config import RealtimeAeConfig

# a narrow network and a few epochs: the tests check behaviour, not the paper's numbers
# PyTorch's initialisation: from Keras's (the default) the tiny model starts near its final loss, too close for
# the "training lowers the loss" checks to mean anything after 6 epochs
SMALL = ["model.hidden=[64,32,16]", "model.bottleneck=2", "data.batch_size=64", "threads=1", "trainer.max_epochs=6",
         "logger.wandb=false", "model.init=torch"]


@pytest.fixture(autouse=True)
def one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


class TinyProject:
    """``python -m realtime_ae`` on the tiny corpus, everything written under ``root``."""

    def __init__(self, root: Path):
        self.root = root
        self.overrides = [f"run.root={root}/runs", f"data.root={root}/synthetic", "data.corpus_size=tiny",
                          f"data.cache={root}/cache", f"eval.out={root}/reports", *SMALL]

    def run(self, verb: str, *args: str) -> int:
        return main("realtime_ae", RealtimeAeConfig, VERBS, [verb, *self.overrides, *map(str, args)])  # args win

    def config(self, *overrides: str):
        return load_config(RealtimeAeConfig, "realtime_ae", "default", [*self.overrides, *overrides])


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> TinyProject:
    return TinyProject(tmp_path_factory.mktemp("realtime_ae"))


@pytest.fixture(scope="session")
def trained(tiny) -> Path:
    """A 2-unit sigmoid model with chroma skip trained 6 epochs on the tiny one-octave corpus."""
    assert tiny.run("train") == 0
    path = tiny.root / "runs/realtime_ae/default/checkpoints/last.ckpt"
    assert path.is_file()
    return path
