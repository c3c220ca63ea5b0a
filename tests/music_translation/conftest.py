"""Shared music_translation test setup: a tiny tone corpus and a tiny model trained through the real CLI in a
temp dir (once per session), torch on one thread."""

from pathlib import Path

import pytest

from music_translation.config import MusicTranslationConfig
from tests.project import THREADS, TinyProject, one_torch_thread  # noqa: F401 (fixtures)

# 4 kHz, 100-sample frames, two-layer networks: the tests check behaviour, not the paper's numbers
TINY = ["data.sample_rate=4000", "model.pool=100", "data.segment_seconds=0.1", "data.batch_size=4",
        "data.val_segments=4", "model.encoder_blocks=1", "model.encoder_layers=3", "model.encoder_channels=8",
        "model.latent_channels=4", "model.decoder_blocks=1", "model.decoder_layers=4", "model.residual_channels=8",
        "model.skip_channels=8", "model.confusion_channels=8", "trainer.val_check_interval=20",
        "trainer.limit_val_batches=3", "trainer.checkpoint_every_n_steps=20", "data.corpus_size=tiny",
        "eval.segments=3", "eval.segment_seconds=0.5", "eval.lineup_sets=2", "eval.classifier_steps=20",
        "augment.min_seconds=0.025", "augment.max_seconds=0.05",
        f"threads={THREADS}"]


class TranslationProject(TinyProject):
    """``python -m music_translation`` on the tiny tone corpus, everything written under ``root``."""

    @property
    def checkpoint(self) -> Path:
        return self.root / "runs/music_translation/default/checkpoints/last.ckpt"


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> TranslationProject:
    root = tmp_path_factory.mktemp("music_translation")
    paths = [f"data.root={root}/tones", f"data.cache={root}/cache", f"eval.nsynth_root={root}/synthetic"]
    project = TranslationProject("music_translation", MusicTranslationConfig, root, [*paths, *TINY])
    assert project.run("prepare") == 0
    return project


@pytest.fixture(scope="session")
def trained(tiny) -> TranslationProject:
    """The tiny model trained 40 steps on the three default domains."""
    assert tiny.run("train", "trainer.max_steps=40") == 0
    assert tiny.checkpoint.is_file()
    return tiny
