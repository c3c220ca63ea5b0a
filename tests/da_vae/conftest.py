"""Shared da_vae test setup: tiny synthetic MAPS / MIR-1K corpora and small models trained through the real
CLI in a temp dir (once per session), and torch on one thread (on a shared 2-core machine that is several
times faster than two threads competing with other processes; the previous setting is restored)."""

from pathlib import Path

import pytest
import torch

from common.lightning import load_config, main
from da_vae.__main__ import VERBS
from da_vae.config import DaVaeConfig

# small networks and few steps: the tests check behaviour, not the paper's numbers
SMALL = ["model.latent_dim=32", "model.channels=[32,64,128]", "model.hidden=128", "data.batch_size=16",
         "trainer.checkpoint_every_n_steps=40", "trainer.limit_val_batches=2", "threads=1",
         "logger.wandb=false"]


@pytest.fixture(autouse=True)
def one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


class TinyProject:
    """``python -m da_vae`` on the tiny corpora, everything written under ``root``."""

    def __init__(self, root: Path):
        self.root = root
        self.overrides = [f"run.root={root}/runs", f"data.root={root}/synthetic", "data.corpus_size=6",
                          f"data.cache={root}/cache", f"eval.out={root}/reports", *SMALL]

    def run(self, verb: str, *args: str) -> int:
        return main("da_vae", DaVaeConfig, VERBS, [verb, *map(str, args), *self.overrides])

    def config(self, *overrides: str):
        return load_config(DaVaeConfig, "da_vae", "default", [*self.overrides, *overrides])


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> TinyProject:
    return TinyProject(tmp_path_factory.mktemp("da_vae"))


@pytest.fixture(scope="session")
def midi_checkpoint(tiny) -> Path:
    """Stage-2 Task 1 model (both stages trained 150 steps on the one training piece)."""
    assert tiny.run("train", "task.name=midi", "trainer.max_steps=150") == 0
    path = tiny.root / "runs/da_vae/default/midi-L32-encoder-wt/checkpoints/last.ckpt"
    assert path.is_file()
    return path


@pytest.fixture(scope="session")
def separation_checkpoint(tiny) -> Path:
    """Stage-2 Task 3 model (rDAE + wt, both stages trained 60 steps on the training song)."""
    assert tiny.run("train", "task.name=separation", "trainer.max_steps=60") == 0
    path = tiny.root / "runs/da_vae/default/separation-L32-rdae-wt/checkpoints/last.ckpt"
    assert path.is_file()
    return path
