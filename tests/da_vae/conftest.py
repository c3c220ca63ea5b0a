"""Shared da_vae test setup: tiny synthetic MAPS / MIR-1K corpora and small models trained through the real
CLI in a temp dir (once per session); torch on one thread (tests.project)."""

from pathlib import Path

import pytest

from da_vae.config import DaVaeConfig
from tests.project import THREADS, one_torch_thread, tiny_project  # noqa: F401 (fixtures)

# small networks and few steps: the tests check behaviour, not the paper's numbers
SMALL = ["model.latent_dim=32", "model.channels=[32,64,128]", "model.hidden=128", "data.batch_size=16",
         "trainer.checkpoint_every_n_steps=40", "trainer.limit_val_batches=2", f"threads={THREADS}",
         "logger.wandb=false", "task.source_steps.midi=0"]


tiny = tiny_project("da_vae", DaVaeConfig, "6", SMALL)


@pytest.fixture(scope="session")
def midi_checkpoint(tiny) -> Path:
    """Stage-2 Task 1 model (both stages trained 300 steps on the one training piece: at 150 the alignment test's
    e ranged 4.7-11 frames over the VAE's noise draws, against its threshold of 10.5)."""
    return tiny.train("default/midi-L32-encoder-wt", "task.name=midi", "trainer.max_steps=300")


@pytest.fixture(scope="session")
def separation_checkpoint(tiny) -> Path:
    """Stage-2 Task 3 model (rDAE + wt, both stages trained 60 steps on the training song)."""
    return tiny.train("default/separation-L32-rdae-wt", "task.name=separation", "trainer.max_steps=60")
