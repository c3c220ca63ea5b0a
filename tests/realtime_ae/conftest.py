"""Shared realtime_ae test setup: the tiny synthetic scales corpus and one small model trained through the
real CLI in a temp dir (once per session), torch on one thread."""

from pathlib import Path

import pytest

from realtime_ae.config import RealtimeAeConfig
from tests.project import THREADS, one_torch_thread, tiny_project  # noqa: F401 (fixtures)

# a narrow network and a few epochs: the tests check behaviour, not the paper's numbers
# PyTorch's initialisation: from Keras's (the default) the tiny model starts near its final loss, too close for
# the "training lowers the loss" checks to mean anything after 6 epochs
SMALL = ["model.hidden=[64,32,16]", "model.bottleneck=2", "data.batch_size=64", f"threads={THREADS}",
         "trainer.max_epochs=6", "logger.wandb=false", "model.init=torch"]


tiny = tiny_project("realtime_ae", RealtimeAeConfig, "tiny", SMALL)


@pytest.fixture(scope="session")
def trained(tiny) -> Path:
    """A 2-unit sigmoid model with chroma skip trained 6 epochs on the tiny one-octave corpus."""
    return tiny.train("default")
