"""prepare: any format/rate -> cached mu-law arrays; short files counted and skipped; segments inside files."""

import json

import numpy as np
import pytest
import torch

from common.audio import save_audio
from common.errors import InputError
from common.lightning import load_config
from music_translation import data
from music_translation.config import MusicTranslationConfig


def config(tmp_path, *extra):
    return load_config(MusicTranslationConfig, "music_translation", "default",
                       [f"data.root={tmp_path}/in", f"data.cache={tmp_path}/cache", "data.corpus=none",
                        "data.sample_rate=8000", "model.pool=400", "data.segment_seconds=0.5", *extra])


def test_prepare_converts_counts_short_files_and_segments_stay_inside_files(tmp_path):
    cfg = config(tmp_path)
    # constant-level files at 16 and 44.1 kHz, stereo and mono; one too short for a 0.5 s segment
    save_audio(tmp_path / "in/organ/a.wav", np.full(16000, 0.5, np.float32), 16000)
    save_audio(tmp_path / "in/organ/sub/b.flac", np.full((2, 44100), -0.25, np.float32), 44100)
    save_audio(tmp_path / "in/organ/short.wav", np.full(3000, 0.1, np.float32), 16000)
    save_audio(tmp_path / "in/organ/val/c.wav", np.full(9000, 0.1, np.float32), 16000)
    summary = data.prepare_domain(cfg, "organ")
    assert summary["train"] == {"files": 2, "seconds": 2.0, "skipped_short": 1}
    assert summary["val"]["files"] == 1 and summary["test"]["files"] == 0
    index = json.loads((tmp_path / "cache/8000hz/organ/train.json").read_text())
    assert [f["length"] for f in index["files"]] == [8000, 8000] and index["skipped_short"][0].endswith("short.wav")
    audio = data.DomainAudio(cfg, "organ", "train")
    levels = {int(audio.file_codes(0)[4000]), int(audio.file_codes(1)[4000])}
    segments = audio.random_segments(np.random.default_rng(0), 200, 4000)
    for row in segments:  # each segment lies inside one file (constant level per file)
        assert len(set(row[100:-100].tolist())) == 1 and int(row[2000]) in levels
    assert data.prepare_domain(cfg, "organ") == summary  # cached: same answer without converting again


def test_missing_or_empty_domain_is_one_clear_error(tmp_path):
    cfg = config(tmp_path)
    with pytest.raises(InputError, match="does not exist"):
        data.prepare_domain(cfg, "nothing")
    (tmp_path / "in/empty").mkdir(parents=True)
    with pytest.raises(InputError, match="no audio files"):
        data.prepare_domain(cfg, "empty")


class NoiseDomain:
    """Stands in for a prepared domain: segments are the generator's draws."""

    def random_segments(self, rng, n: int, length: int) -> np.ndarray:
        return rng.integers(0, 256, (n, length)).astype(np.uint8)


def test_a_resumed_loader_draws_the_batches_an_uninterrupted_one_draws_across_epochs():
    from torchdata.stateful_dataloader import StatefulDataLoader

    def loader():
        return StatefulDataLoader(data.RandomSegmentBatches([NoiseDomain()] * 3, 2, 5, 4, seed=7), batch_size=None)

    def batches(source, epochs: int = 1) -> list:
        return [(b["domain"], b["codes"].tolist()) for _ in range(epochs) for b in source]

    straight = batches(loader(), 3)
    assert [d for d, _ in straight[:4]] == [0, 1, 2, 0] and straight[:4] != straight[4:8]
    first = loader()
    taken = batches(first)  # epoch 0, then one batch of epoch 1
    taken += batches([next(iter(first))])
    second = loader()
    second.load_state_dict(first.state_dict())
    assert taken + batches(second, 2) == straight  # the rest of epoch 1, then epoch 2


def test_ranks_crop_different_segments_of_the_same_domain(tiny):
    """With one domain every rank trains it at every step: each still draws its own crops, from (seed, rank)."""
    cfg = tiny.config()
    piano = [data.DomainAudio(cfg, "piano", "train")]
    first = [next(iter(data.RandomSegmentBatches(piano, 4, 200, 2, 0, rank, 2)))["codes"] for rank in (0, 1)]
    again = next(iter(data.RandomSegmentBatches(piano, 4, 200, 2, 0, 0, 2)))["codes"]
    assert not torch.equal(first[0], first[1]) and torch.equal(first[0], again)


def test_train_prepares_the_data_it_needs(tmp_path):
    """`train` on a fresh root builds the corpus and the mu-law cache itself (no "run prepare first")."""
    from tests.music_translation.conftest import TINY, TranslationProject

    paths = [f"data.root={tmp_path}/tones", f"data.cache={tmp_path}/cache", f"eval.nsynth_root={tmp_path}/synthetic"]
    project = TranslationProject("music_translation", MusicTranslationConfig, tmp_path, [*paths, *TINY])
    assert project.run("train", "trainer.max_steps=2") == 0
    assert (tmp_path / "cache/4000hz/piano/train.u8").is_file() and project.checkpoint.is_file()


def test_prepare_waits_for_a_build_of_the_same_split_in_another_process(tmp_path, lock_held_elsewhere):
    """eval-all prepares ahead in a background process: an eval that reaches a split being written waits for it."""
    import time

    cfg = config(tmp_path)
    save_audio(tmp_path / "in/organ/a.wav", np.full(16000, 0.5, np.float32), 16000)
    released = lock_held_elsewhere(tmp_path / "cache/8000hz/organ", "train")
    data.prepare_domain(cfg, "organ")
    assert time.monotonic() >= released()
