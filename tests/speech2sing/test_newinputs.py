"""The "On new inputs" measures against a known answer: an output that sings the (moved) melody scores RPA 1 and
a note error of a few cents, against the transposed melody for --transpose; the input speech itself, an output
on one constant pitch with the melody's voicing, or one that ignores the transpose, misses the targets. The
report's reference outputs and the melody skip's share are measured on the outputs, not on the melody."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from common import heldout
from speech2sing import evaluate, newinputs
from speech2sing.models import Speech2Singing

SR = 16000


def sung(melody: heldout.Melody) -> np.ndarray:
    """The melody from its first onset, as convert writes it, by the additive synthesiser (no vibrato)."""
    start = melody.notes[0][0]
    return heldout.additive(heldout.Melody(tuple((a - start, b - start, p) for a, b, p in melody.notes)), SR,
                            vibrato_cents=0.0)


@pytest.fixture()
def fake(monkeypatch):
    """score_group on one clip with ``sing`` replaced by ``render(melody, transpose)``."""
    melody = heldout.random_melody(5, 50, 57, n_notes=5)
    monkeypatch.setattr(newinputs, "clips", lambda group, seeds, sr: [newinputs.Clip("c", np.zeros(SR), melody)])
    module = SimpleNamespace(hparams=SimpleNamespace(features={"sample_rate": SR}))

    def run(render):
        monkeypatch.setattr(newinputs, "sing", lambda m, clip, shift, *a: render(clip.melody, shift))
        return newinputs.score_group(module, "male", [5])
    return run


def test_an_output_on_the_melody_meets_every_target(fake):
    got = fake(lambda melody, shift: sung(melody.transposed(shift)))
    assert got["rpa"] > 0.95 and got["transpose_rpa"] > 0.95 and got["note_cents"] < 15
    row = {"seed": 0, "threads": 1, "input": "male", **got}
    assert all(t.met(row[t.measure]) for t in evaluate.NEW_INPUTS)


@pytest.mark.parametrize("case", ["input_speech", "constant_pitch", "ignores_transpose"])
def test_a_degenerate_output_misses_the_targets(fake, case):
    if case == "input_speech":  # no conversion: the held-out speech itself
        got = fake(lambda melody, shift: heldout.speak(heldout.SENTENCES[0], heldout.MALE_VOICES[0], SR))
        assert got["rpa"] < 0.3 and got["transpose_rpa"] < 0.3
    elif case == "constant_pitch":  # the melody's voicing on one pitch
        got = fake(lambda melody, shift: sung(heldout.Melody(tuple((a, b, 52.0) for a, b, _ in melody.notes))))
        assert got["rpa"] < 0.5 and got["note_cents"] > 50
    else:
        got = fake(lambda melody, shift: sung(melody))
        assert got["rpa"] > 0.95 and got["transpose_rpa"] < 0.1
    row = {"seed": 0, "threads": 1, "input": "male", **got}
    assert not all(t.met(row[t.measure]) for t in evaluate.NEW_INPUTS)


def test_the_voicing_recall_is_a_fraction_of_the_melody_frames(fake):
    """An output voiced well past the melody's last note still voices at most every melody frame."""
    def longer(melody, shift):
        audio = sung(melody.transposed(shift))
        return np.concatenate([audio, audio])
    got = fake(longer)
    assert 0.9 < got["recall"] <= 1.0


def test_the_reference_outputs_score_as_a_perfect_and_two_degenerate_outputs():
    refs = newinputs.calibrate("male", [100], SR)
    assert refs["melody"]["rpa"] > 0.95 and refs["melody"]["note_cents"] < 15
    for name in ("speech", "constant"):
        assert refs[name]["rpa"] < 0.5 and refs[name]["note_cents"] > 50, (name, refs[name])
    text = evaluate.reference_text({"male": refs})
    assert "both miss" in text and "not both miss" not in text


def test_the_melody_skip_is_switched_off_inside_the_block_only():
    module = SimpleNamespace(network=Speech2Singing(bins=33, channels=16, melody_skip=True))
    module.network.melody_gain.data.fill_(0.5)
    x, c = torch.rand(1, 33, 16), torch.zeros(1, 33, 16)
    c[0, 10] = 1.0
    with_skip = module.network(x, c)[0]
    with newinputs.melody_skip_off(module) as has_skip:
        assert has_skip and torch.allclose(module.network(x, c)[0], with_skip - 0.5 * module.network.melody_skip(
            c[:, None])[:, 0], atol=1e-6)
    assert torch.equal(module.network(x, c)[0], with_skip)
    with newinputs.melody_skip_off(SimpleNamespace(network=Speech2Singing(bins=33, channels=16))) as has_skip:
        assert not has_skip


@pytest.mark.parametrize("no_skip_rpa", [0.0, 0.9])
def test_the_report_says_when_the_melody_skip_imposes_the_pitch(no_skip_rpa):
    rows = [{"rpa_no_skip": no_skip_rpa}, {"rpa_no_skip": no_skip_rpa / 2}]
    text = evaluate.skip_text(OmegaConf.create({"model": {"melody_skip": True}}), rows)
    assert ("measure the pass-through" in text) == (no_skip_rpa < 0.6)
    assert "no melody skip" in evaluate.skip_text(OmegaConf.create({"model": {"melody_skip": False}}), rows)


def test_the_section_shows_the_references_and_the_rpa_without_the_skip(tiny):
    cfg = tiny.config("eval.melody_seeds=[100]")
    row = {"rpa": 1.0, "median_cents": 5.0, "recall": 1.0, "note_cents": 5.0, "transpose_rpa": 1.0,
           "rpa_no_skip": 0.0, "clips": []}
    rows = [{"seed": 0, "threads": 1, "input": group, **row} for group in newinputs.GROUPS]
    section, entry = evaluate.new_inputs(cfg, rows)
    assert entry["all_met"] and set(entry["references"]) == set(newinputs.GROUPS)
    assert "the input speech" in section.text and "both miss" in section.text
    assert ("imposed by a direct path" in section.text) == bool(cfg.model.melody_skip)
    assert section.tables[-1].columns[4] == "rpa without the melody skip"
