"""`eval` on the tiny checkpoint writes the report: Table 2 with chance/ceiling, the lineup, Figure 3."""

import json

import numpy as np
import torch

from common.mulaw import mu_law_encode
from music_translation import evaluate, scores


def test_contour_scores_separate_same_and_unrelated_melodies():
    rate = 8000
    steps = np.repeat([0, 4, 7, 12, 7, 4, 0, 5], rate // 8)
    melody = np.sin(2 * np.pi * np.cumsum(220 * 2 ** (steps / 12)) / rate)
    other_steps = np.repeat([12, 0, 9, 2, 11, 5, 3, 7], rate // 8)  # an unrelated melody
    other = np.sin(2 * np.pi * np.cumsum(220 * 2 ** (other_steps / 12)) / rate)
    a, voiced = scores.pitch_contour(melody, rate)
    b, _ = scores.pitch_contour(0.5 * np.roll(melody, 400), rate)  # same melody, 50 ms later, quieter
    c, _ = scores.pitch_contour(other, rate)
    assert voiced > 0.9
    assert scores.ncc_best_shift(a, b, 16) > 0.95 and scores.dtw_corr(a, b) > 0.95
    assert scores.ncc_best_shift(a, c, 16) < 0.8


def test_chance_is_the_mean_over_the_unrelated_partners():
    rate = 8000
    steps = [[0, 4, 7, 12], [0, 4, 7, 12], [9, 2, 11, 5], [5, 5, 0, 7]]  # an input, its copy, two unrelated
    tunes = [np.sin(2 * np.pi * np.cumsum(220 * 2 ** (np.repeat(s, rate // 4) / 12)) / rate) for s in steps]
    found = evaluate.contours_of(mu_law_encode(torch.from_numpy(np.stack(tunes))).numpy(), rate)
    each = evaluate.chance_scores([found[0][0]], found[1:2], 8)[0]
    assert each[0] > 0.95  # the copy
    pairs = [evaluate.chance_scores([found[0][0]], [p], 8)[0] for p in found[1:]]
    np.testing.assert_allclose(evaluate.chance_scores([found[0][0]], found[1:], 8)[0], np.mean(pairs, 0))
    assert np.mean(pairs, 0)[0] < each[0] - 0.2


def test_pitch_similarity_of_a_pitch_coding_embedding():
    """Embeddings = shared offset + a pitch code: raw cosines are all near 1, centred ones separate pitches."""
    rng = np.random.default_rng(0)
    pitch_code = rng.standard_normal((12, 16))
    a = 20 + pitch_code + 0.1 * rng.standard_normal((12, 16))
    b = 20 + pitch_code + 0.1 * rng.standard_normal((12, 16))
    raw = scores.pitch_similarity(scores.cosine_matrix(b, a))
    centre = np.concatenate([a, b]).mean(0)
    centred = scores.pitch_similarity(scores.cosine_matrix(b - centre, a - centre))
    assert raw["off_diagonal_mean"] > 0.99
    assert centred["diagonal_mean"] > 0.9 and centred["off_diagonal_mean"] < 0.2
    assert min(centred["margins"]) > 0.7 and len(centred["margins"]) == 12


def test_eval_writes_the_report_over_seeds(trained):
    """Two seeds' models (the trained run and one more) scored in two worker processes on the same segments."""
    pairs = "eval.nsynth_pairs=[brass_acoustic_000:string_acoustic_000]"
    assert trained.run("eval", "eval.nsynth_size=tiny", pairs, "trainer.max_steps=40", "eval.seeds=[0,1]",
                       "eval.workers=2") == 0
    assert (trained.root / "runs/music_translation/default-seed1/checkpoints/last.ckpt").is_file()
    out = trained.root / "reports"
    readme = (out / "README.md").read_text()
    assert "Table 2" in readme and "lineup" in readme and (out / "figure3_embeddings.png").is_file()
    assert (out / "figure2_lineup.png").is_file() and "figure2_lineup.png" in readme
    assert "training seeds 0, 1" in readme and "source is not picked more often than chance" in readme
    assert "the most picked decoder" in readme
    results = json.loads((out / "results.json").read_text())
    raw = results.get("results", results)
    assert raw["seeds"] == [0, 1] and len(raw["per_seed"]) == 2
    assert set(raw["table2"]) == {"harpsichord", "strings", "new domains (whistle, flute)"}
    for group, pooled in raw["table2"].items():  # per segment: the mean of the two models' scores
        each = [np.array(r["table2"][group]["translation"]) for r in raw["per_seed"]]
        np.testing.assert_allclose(pooled["translation"], (each[0] + each[1]) / 2)
        assert "chance" not in raw["per_seed"][0]["table2"][group]  # chance is scored once, for every model
        assert np.array(pooled["chance"]).shape == (3, 3)  # eval.segments x (NCC, DTW, voiced)
    assert np.array(raw["lineup_confusion"]).sum() == 2 * 2  # eval.lineup_sets per model
    pair = "brass_acoustic_000:string_acoustic_000"
    assert list(raw["figure3"]) == [pair]
    embeddings = [np.array(r["figure3"][pair]["diagonal"]) for r in raw["per_seed"]]
    assert not np.array_equal(embeddings[0], embeddings[1])  # two different models
    np.testing.assert_allclose(raw["figure3"][pair]["diagonal"], (embeddings[0] + embeddings[1]) / 2)
    assert set(raw["figure3"]["brass_acoustic_000:string_acoustic_000"]["centred"]) >= {"diagonal_mean", "margins"}
    assert list(out.glob("examples/*.wav"))
