"""Shared gmvae_timbre test setup: the tiny synthetic SOL corpus (one pitch per octave) and small models in a
temp dir (once per session); torch on one thread (tests.project)."""

from pathlib import Path

import pytest

from gmvae_timbre.config import GmvaeConfig
from tests.project import THREADS, one_torch_thread, tiny_project  # noqa: F401 (fixtures)

# small networks and few steps: the tests check behaviour, not the paper's numbers
SMALL = ["model.channels=16", "model.hidden=64", "data.batch_size=64", f"threads={THREADS}", "trainer.max_steps=60",
         "trainer.check_val_every_n_epoch=100"]


tiny = tiny_project("gmvae_timbre", GmvaeConfig, "tiny", SMALL)


@pytest.fixture(scope="session")
def gmvae_checkpoint(tiny) -> Path:
    """M_GMVAE trained 60 steps with every instrument label."""
    return tiny.train(f"default/gmvae-N100-seed0-threads{THREADS}", "model.kind=gmvae", "data.label_fraction=100")
