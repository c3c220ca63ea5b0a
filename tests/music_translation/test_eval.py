"""`eval` on the tiny checkpoint writes the report: Table 2 with chance/ceiling, the lineup, Figure 3, the new
inputs; and the scores behind it on known tones."""

import json

import numpy as np

from music_translation import scores
from tests.project import THREADS

RATE = 8000


def tune(steps, rate=RATE, note=0.125):
    return np.sin(2 * np.pi * np.cumsum(220 * 2 ** (np.repeat(steps, int(rate * note)) / 12)) / rate)


def test_contour_scores_separate_same_and_unrelated_melodies():
    melody = tune([0, 4, 7, 12, 7, 4, 0, 5])
    a = scores.contour(melody, RATE)
    b = scores.contour(0.5 * np.roll(melody, 400), RATE)  # same melody, 50 ms later, quieter
    c = scores.contour(tune([12, 0, 9, 2, 11, 5, 3, 7]), RATE)  # an unrelated melody
    shift = scores.frames_of(0.25)
    ncc, dtw, rpa, ratio, recall, _ = scores.pitch_scores(a, b, shift)
    assert ncc > 0.95 and dtw > 0.95 and ratio > 0.9 and recall > 0.9
    assert scores.pitch_scores(a, c, shift)[0] < 0.8


def test_contours_are_the_known_pitch_of_a_tone():
    """Frame/bin conversion on a known tone: a 440 Hz sine reads MIDI 69 on its frames, at the right times."""
    t = np.arange(2 * RATE) / RATE
    tone = np.where((t >= 0.5) & (t < 1.5), np.sin(2 * np.pi * 440 * t), 0.0)
    times, f0 = scores.contour(tone, RATE)
    midi = scores.midi(f0)
    assert np.allclose(np.diff(times), scores.HOP_SECONDS)
    inside = (times > 0.6) & (times < 1.4)
    assert np.abs(midi[inside] - 69).max() < 0.2
    assert (midi[(times < 0.4) | (times > 1.6)] == 0).all()
    assert scores.frames_of(0.25) == round(0.25 / scores.HOP_SECONDS)


def test_eval_writes_the_report_over_models(trained):
    """Two models (the trained run and seed 1) scored in two worker processes on the same segments."""
    pairs = "eval.nsynth_pairs=[brass_acoustic_000:string_acoustic_000]"
    assert trained.run("eval", "eval.nsynth_size=tiny", pairs, "trainer.max_steps=40", "eval.seeds=[0,1]",
                       "eval.workers=2", f"eval.threads=[{THREADS}]", "eval.heldout_seeds=[11]",
                       "eval.heldout_sources=[flute,oboe]") == 0
    assert (trained.root / "runs/music_translation/default-seed1/checkpoints/last.ckpt").is_file()
    out = trained.root / "reports"
    readme = (out / "README.md").read_text()
    assert "Table 2" in readme and "lineup" in readme and (out / "figure3_embeddings.png").is_file()
    assert (out / "figure2_lineup.png").is_file() and "figure2_lineup.png" in readme
    assert f"s0/t{THREADS}, s1/t{THREADS}" in readme and "source is not picked more often than chance" in readme
    assert "On new inputs" in readme and "smallest detectable difference" in readme
    results = json.loads((out / "results.json").read_text())
    raw = results.get("results", results)
    assert raw["models"] == [{"seed": 0, "threads": THREADS}, {"seed": 1, "threads": THREADS}]
    assert set(raw["table2"]) == {"harpsichord", "strings", "new domains (whistle, flute)"}
    for group, pooled in raw["table2"].items():  # per segment: the mean of the two models' scores
        for key in ("translation", "chance"):
            each = [np.array(m["table2"][group][key]) for m in raw["per_model"]]
            np.testing.assert_allclose(pooled[key], (each[0] + each[1]) / 2)
        assert np.array(pooled["translation"]).shape == (3, len(scores.MEASURES))
        assert np.array(pooled["chance"]).shape == (3, len(scores.CHANCE_MEASURES))
    assert np.array(raw["lineup"]["test"]).sum() == 2 * 2 == np.array(raw["lineup"]["control"]).sum()
    pair = "brass_acoustic_000:string_acoustic_000"
    assert list(raw["figure3"]) == [pair] and 0 <= raw["figure3"][pair]["p_top1"] <= 1
    rows = raw["new_inputs"]["rows"]
    assert {(r["seed"], r["threads"]) for r in rows} == {(0, THREADS), (1, THREADS)}
    assert {r["input"] for r in rows} == {"flute", "oboe"}
    assert raw["new_inputs"]["targets"] and raw["new_inputs_rows"] == rows
    first, second = (np.array(m["figure3"][pair]) for m in raw["per_model"])
    assert not np.array_equal(first, second)  # each seed reached its own model
    np.testing.assert_allclose(raw["figure3"][pair]["cross"], (first + second) / 2)
    check_example_clips(trained, out)


def check_example_clips(trained, out):
    """The "input" clip of the first example is the lineup's first test segment itself (as loud as the row
    allows), not the autoencoder's output."""
    from common.audio import load_audio
    from music_translation.experiments import test_segments, to_audio

    cfg = trained.config()
    rate, pool = cfg.data.sample_rate, cfg.model.pool
    length = int(cfg.eval.lineup_seconds * rate) // pool * pool
    segment = to_audio(test_segments(cfg, [cfg.data.domains[0]], 1, length, [cfg.eval.seed, 1000])[0])
    wavs = {w.stem.rsplit("-", 1)[-1]: load_audio(w, rate) for w in (out / "examples").glob("00-*.wav")}
    assert np.corrcoef(wavs["input"], segment)[0, 1] > 0.99
    assert np.corrcoef(wavs["reconstruction"], segment)[0, 1] < 0.9


def test_thread_settings_never_share_a_run(trained):
    import pytest

    from common.errors import ConfigError
    from music_translation import evaluate, training

    cfg = trained.config("trainer.max_steps=40")
    runs = [evaluate.run_config(cfg, s, t) for s in (0, 1) for t in (1, 2)]
    assert len({r.run.name for r in runs}) == 4 and [r.threads for r in runs] == [1, 2, 1, 2]
    assert runs[0].run.name == cfg.run.name and [r.run.seed for r in runs] == [0, 0, 1, 1]
    with pytest.raises(ConfigError, match="threads"):  # the fixture's run was trained on THREADS threads
        training.trained_checkpoint(trained.config("trainer.max_steps=40", f"threads={3 - THREADS}"))


def test_a_killed_run_is_resumed_not_reused(tiny):
    """An eval that finds a run's checkpoint short of trainer.max_steps (a killed eval) trains it on."""
    from omegaconf import OmegaConf

    from common.lightning.checkpoint import load_checkpoint
    from music_translation import training

    assert tiny.run("train", "run.name=killed", "trainer.max_steps=4") == 0
    run = tiny.root / "runs/music_translation/killed"
    saved = OmegaConf.load(run / "config.yaml")
    saved.trainer.max_steps = 8  # what the killed run was asked for
    OmegaConf.save(saved, run / "config.yaml")
    path = training.reuse_or_train(tiny.config("run.name=killed", "trainer.max_steps=8"))
    assert load_checkpoint(path, "music_translation")["global_step"] == 8


def test_new_inputs_come_only_from_the_heldout_soundfont():
    """Every held-out source is a MuseScore General program that no training domain plays; the additive synth,
    whose kind of timbre the tone corpus trains on, is refused."""
    import pytest

    from music_translation import newinputs, tones
    from music_translation.config import MusicTranslationConfig

    trained = {tones.PROGRAMS[d] for d in tones.TIMBRES if d not in tones.UNSEEN}
    assert all(isinstance(p, int) for p in newinputs.SOURCES.values())
    assert not trained & set(newinputs.SOURCES.values())
    assert set(MusicTranslationConfig().eval.heldout_sources) <= set(newinputs.SOURCES)
    with pytest.raises(ValueError, match="additive"):
        newinputs.render_inputs(4000, [11], ["additive"])
