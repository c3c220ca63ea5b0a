"""The "On new inputs" measures (da_vae.new_inputs): the true path and onsets follow the tempo map (re-timing
along the true path meets both targets, leaving the score's timing misses them), and each thread setting's
model is trained under that many torch threads in a run of its own."""

import numpy as np
import torch

from common.lightning import load_config
from da_vae import new_inputs
from da_vae.config import DaVaeConfig

HOP_S = 0.02


def test_retiming_along_the_true_path_meets_the_targets_and_the_score_timing_does_not():
    (item,) = new_inputs.cases([1], 16000, HOP_S, (0.7, 1.3))
    assert len(item["audio"]) / 16000 > 4 and item["truth"][-1, 1] > item["truth"][-1, 0] * 0.7
    true = new_inputs.score_alignment(item["truth"], item, HOP_S)
    assert true["e"] == 0 and true["onset_ms"] <= 10 and true["onsets_50ms"] == 1
    identity = np.stack([np.arange(item["n"])] * 2, axis=1)  # the score's own timing, no re-timing
    kept = new_inputs.score_alignment(identity, item, HOP_S)
    assert not all(t.met(kept[t.measure]) for t in new_inputs.TARGETS), kept
    assert all(t.met(true[t.measure]) for t in new_inputs.TARGETS)


def test_the_tempo_map_is_monotone_within_the_rate_range_and_a_piece_is_fixed_by_its_seed():
    score, performance = new_inputs.tempo_map(9.0, (0.7, 1.3), seed=4)
    slopes = np.diff(performance) / np.diff(score)
    assert np.all(slopes[:-1] >= 1 / 1.3) and np.all(slopes[:-1] <= 1 / 0.7) and slopes[-1] == 1
    assert new_inputs.piece(5) == new_inputs.piece(5) and new_inputs.piece(5) != new_inputs.piece(6)
    pitches = new_inputs.piece(5).pitches()
    assert pitches.min() >= 40 and pitches.max() <= 79 and len(pitches) == sum(v[2] for v in new_inputs.VOICES)


def test_each_thread_setting_trains_in_its_own_run_on_that_many_threads(monkeypatch):
    calls = []

    def train_stage(cfg, stage):
        assert cfg.threads == torch.get_num_threads()  # the run's recorded config says how it trained
        calls.append((cfg.run.name, cfg.run.seed, stage, torch.get_num_threads()))

    monkeypatch.setattr(new_inputs.training, "train_stage", train_stage)
    cfg = load_config(DaVaeConfig, "da_vae", "default", [])
    before = torch.get_num_threads()
    one = new_inputs.thread_checkpoint(cfg, 1, 1)
    two = new_inputs.thread_checkpoint(cfg, 1, 2)
    assert torch.get_num_threads() == before
    assert calls == [("default", 1, "source", 1), ("default", 1, "target", 1),
                     ("default-threads2", 1, "source", 2), ("default-threads2", 1, "target", 2)]
    assert "/default/midi-L128-encoder-wt-seed1/" in one and "/default-threads2/midi-L128-encoder-wt-seed1/" in two


def test_thread_checkpoints_trains_every_seed_under_every_thread_setting(monkeypatch):
    calls = []
    monkeypatch.setattr(new_inputs.training, "train_stage",
                        lambda cfg, stage: calls.append((cfg.run.seed, stage, torch.get_num_threads())))
    cfg = load_config(DaVaeConfig, "da_vae", "default", ["eval.seeds=[0,1]", "eval.workers=0"])
    paths = new_inputs.thread_checkpoints(cfg)
    assert sorted(paths) == [(0, 1), (0, 2), (1, 1), (1, 2)]
    assert "/default/midi-L128-encoder-wt/" in paths[0, 1] and "/default-threads2/" in paths[1, 2]
    assert "-seed1/" in paths[1, 2] and "-seed1" not in paths[0, 2]
    assert sorted(calls) == sorted((s, stage, t) for s in (0, 1) for t in (1, 2) for stage in ("source", "target"))
