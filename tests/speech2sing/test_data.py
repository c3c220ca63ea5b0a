"""Samples are prepared once, to disk (one folder per recording), and read back as memory maps equal to the
features computed in memory; a second call prepares nothing."""

import numpy as np

from speech2sing import catalog, data


def test_prepared_samples_round_trip_through_disk_as_memory_maps(tiny, monkeypatch):
    cfg = tiny.config()
    splits = data.samples(cfg)
    recs = catalog.recordings(catalog.corpus_root(cfg))
    base = data.feature_dir(cfg, "uniform")
    assert sorted(p.name for p in base.iterdir()) == sorted(f"{r.singer}-{r.song}" for r in recs)
    assert len(splits["train"]) > 0 and len(splits["test"]) > 0
    rec = recs[0]
    direct = data.recording_samples(rec, cfg.data, "uniform")
    loaded = data.load_recording(base / f"{rec.singer}-{rec.song}")
    assert [s.name for s in loaded] == [s.name for s in direct]
    for a, b in zip(loaded, direct):
        assert isinstance(a.Y, np.memmap) and a.X.shape == b.X.shape
        for key in ("X", "Y", "f0", "phones", "speech"):
            np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
        assert a.speech_s == b.speech_s
    calls = []
    monkeypatch.setattr(data, "prepare_recording", lambda *args: calls.append(args))
    data._load_splits.cache_clear()
    again = data.samples(cfg)
    assert not calls and [s.name for s in again["test"]] == [s.name for s in splits["test"]]
    assert data.feature_dir(cfg, "phsync") != base
    assert data.feature_dir(tiny.config("data.hop_length=128"), "uniform") != base


def test_samples_wait_for_a_preparation_of_the_same_folder_in_another_process(tiny, monkeypatch, lock_held_elsewhere):
    """eval-all prepares ahead in a background process: an eval that reaches samples being written waits."""
    import time

    cfg = tiny.config("data.hop_length=128")  # a feature folder no other test prepares
    base = data.feature_dir(cfg, "uniform")
    started, prepare = [], data._prepare
    monkeypatch.setattr(data, "_prepare", lambda *args: started.append(time.monotonic()) or prepare(*args))
    released = lock_held_elsewhere(base.parent, base.name)
    data.samples(cfg)
    assert started[0] >= released()
