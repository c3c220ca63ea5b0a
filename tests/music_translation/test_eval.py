"""`eval` on the tiny checkpoint writes the report: Table 2 with chance/ceiling, the lineup, Figure 3."""

import json

import numpy as np

from music_translation import scores


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


def test_eval_writes_the_report(trained):
    pairs = "eval.nsynth_pairs=[brass_acoustic_000:string_acoustic_000]"
    assert trained.run("eval", "eval.nsynth_size=tiny", pairs, "trainer.max_steps=40") == 0
    out = trained.root / "reports"
    readme = (out / "README.md").read_text()
    assert "Table 2" in readme and "lineup" in readme and (out / "figure3_embeddings.png").is_file()
    assert (out / "figure2_lineup.png").is_file() and "figure2_lineup.png" in readme
    results = json.loads((out / "results.json").read_text())
    raw = results.get("results", results)
    assert set(raw["table2"]) == {"harpsichord", "strings", "new domains (whistle, flute)"}
    assert np.array(raw["lineup_confusion"]).sum() == 2
    assert list(raw["figure3"]) == ["brass_acoustic_000:string_acoustic_000"]
    assert set(raw["figure3"]["brass_acoustic_000:string_acoustic_000"]["centred"]) >= {"diagonal_mean", "margins"}
    assert list(out.glob("examples/*.wav"))
