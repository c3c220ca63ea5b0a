"""Shared gmvae_timbre test setup: the tiny synthetic SOL corpus (one pitch per octave) and small models in a
temp dir (once per session), and torch on one thread (the previous setting is restored)."""

from pathlib import Path

import pytest
import torch

from common.lightning import load_config, main
from gmvae_timbre.__main__ import VERBS
from gmvae_timbre.config import GmvaeConfig

# small networks and few steps: the tests check behaviour, not the paper's numbers
SMALL = ["model.channels=16", "model.hidden=64", "data.batch_size=64", "threads=1", "trainer.max_steps=60",
         "trainer.check_val_every_n_epoch=100"]


@pytest.fixture(autouse=True)
def one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


class TinyProject:
    """``python -m gmvae_timbre`` on the tiny corpus, everything written under ``root``."""

    def __init__(self, root: Path):
        self.root = root
        self.overrides = [f"run.root={root}/runs", f"data.root={root}/synthetic", "data.corpus_size=tiny",
                          f"data.cache={root}/cache", f"eval.out={root}/reports", *SMALL]

    def run(self, verb: str, *args: str) -> int:
        """The verb with the project overrides, then ``args`` (which win over them)."""
        return main("gmvae_timbre", GmvaeConfig, VERBS, [verb, *self.overrides, *map(str, args)])

    def config(self, *overrides: str):
        return load_config(GmvaeConfig, "gmvae_timbre", "default", [*self.overrides, *overrides])


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> TinyProject:
    return TinyProject(tmp_path_factory.mktemp("gmvae_timbre"))


@pytest.fixture(scope="session")
def gmvae_checkpoint(tiny) -> Path:
    """M_GMVAE trained 60 steps with every instrument label."""
    assert tiny.run("train", "model.kind=gmvae", "data.label_fraction=100") == 0
    path = tiny.root / "runs/gmvae_timbre/default/gmvae-N100-seed0/checkpoints/last.ckpt"
    assert path.is_file()
    return path
