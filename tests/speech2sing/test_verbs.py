"""`convert` end to end on a tiny trained checkpoint: the sung output's pYIN contour follows a MIDI melody
better than the (stretched) speech does; folder batches, CSV melodies and --transpose; training lowers the
loss; every bad input is one line and exit code 2."""

import json

import numpy as np
import pretty_midi
import pytest
import torch

from common.audio import load_audio, save_audio
from common.corpora import speech as mbrola
from common.metrics import raw_chroma_accuracy
from speech2sing import catalog, data
from speech2sing import features as fx
from speech2sing.inference import prepare_speech
from speech2sing.module import load_module

SR, HOP = 16000, 256


@pytest.fixture(scope="module")
def held_out_line(tiny, tmp_path_factory):
    """Speech of the first line of a held-out recording (song 01) as a wav, and its sung melody as MIDI: the
    recording of a singer in a register the model was trained on (the tiny corpus trains on two male voices;
    a female melody lies above every pitch bin the model saw)."""
    out = tmp_path_factory.mktemp("line")
    root = catalog.corpus_root(tiny.config())
    manifest = json.loads((root / "manifest.json").read_text())
    register = {i["singer"]: mbrola.VOICES[i["voice"].removeprefix("mbrola-")] for i in manifest["items"]}
    trained = {register[i["singer"]] for i in manifest["items"] if i["song"] != "01"}
    rec = next(r for r in catalog.recordings(root) if r.song == "01" and register[r.singer] in trained)
    read = catalog.read_labels(rec.path("read", "txt"))
    words = [lab for lab in read if not data.is_silence(lab[2])]
    end = next(lab[0] for lab in read if lab[0] > words[0][0] and data.is_silence(lab[2]))
    speech = load_audio(rec.path("read", "wav"), SR)[int(words[0][0] * SR): int(end * SR)]
    item = next(i for i in manifest["items"] if i["singer"] == rec.singer and i["song"] == "01")
    sung = catalog.read_labels(rec.path("sing", "txt"))
    first = next(lab[0] for lab in sung if not data.is_silence(lab[2]))
    line_end = next(lab[0] for lab in sung if lab[0] > first and data.is_silence(lab[2]))
    first_line = [n for n in item["melody"] if n[0] < line_end]  # the first phrase
    midi = pretty_midi.PrettyMIDI()
    voice = pretty_midi.Instrument(0)
    voice.notes += [pretty_midi.Note(90, int(p), s, e) for s, e, p in first_line]
    midi.instruments.append(voice)
    midi.write(str(out / "melody.mid"))
    return save_audio(out / "speech.wav", speech, SR), out / "melody.mid"


def rca_against_midi(audio, midi_path):
    reference = fx.midi_contour(midi_path, HOP / SR)
    estimate = fx.pyin_contour(audio, SR, HOP)[: len(reference)]
    times = np.arange(len(reference)) * HOP / SR
    return raw_chroma_accuracy(times, reference, times[: len(estimate)], estimate)


def test_convert_follows_a_midi_melody_better_than_the_speech(tiny, checkpoint, held_out_line, tmp_path):
    speech_wav, midi = held_out_line
    out = tmp_path / "sung.wav"
    assert tiny.run("convert", speech_wav, "--melody", midi, "--out", out, f"ckpt={checkpoint}") == 0
    sung = load_audio(out, SR)
    contour = fx.midi_contour(midi, HOP / SR)
    assert abs(len(sung) - (len(contour) - 1) * HOP) <= HOP
    # the baseline: the same speech, silence-removed and stretched to the melody, not converted
    module = load_module(checkpoint)
    stretched = fx.synthesize(prepare_speech(module, load_audio(speech_wav, SR), len(contour)), HOP)
    ours, speech = rca_against_midi(sung, midi), rca_against_midi(stretched, midi)
    print(f"RCA of the converted line {ours:.3f}, of the stretched speech {speech:.3f}")
    # 500 steps on the two training recordings (male voices; the held-out line is a male singer's, in the range
    # the model saw); measured with one and with two torch threads (MUSICREP_TEST_THREADS=2), see the report
    assert ours > 0.7 and ours > speech + 0.4, (ours, speech)


def test_convert_a_folder_with_a_csv_melody_and_transpose(tiny, checkpoint, held_out_line, tmp_path):
    speech_wav, _ = held_out_line
    folder = tmp_path / "speech"
    for name in ("a", "b"):
        save_audio(folder / f"{name}.wav", load_audio(speech_wav, SR), SR)
    rows = "".join(f"{t / 100:.2f},{220.0 if t < 150 else 0.0}\n" for t in range(200))
    (tmp_path / "melody.csv").write_text("time,hz\n" + rows)
    assert tiny.run("convert", folder, "--melody", tmp_path / "melody.csv", "--transpose", "5",
                    "--out", tmp_path / "sung", f"ckpt={checkpoint}") == 0
    outputs = sorted((tmp_path / "sung").glob("*.wav"))
    assert [p.name for p in outputs] == ["a.wav", "b.wav"]
    assert abs(len(load_audio(outputs[0], SR)) / SR - 1.99) < 0.05


def test_training_lowered_the_loss(tiny, checkpoint):
    import csv

    rows = list(csv.DictReader(open(checkpoint.parents[1] / "csv/version_0/metrics.csv")))
    losses = [float(r["train/loss"]) for r in rows if r.get("train/loss")]
    print(f"training loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    assert len(losses) >= 3 and losses[-1] < 0.7 * losses[0]


@pytest.mark.parametrize("case", ["missing_speech", "silent_speech", "short_speech", "missing_melody",
                                  "empty_midi", "missing_ckpt", "foreign_ckpt", "diverged_ckpt", "empty_folder"])
def test_bad_input_is_one_line_naming_it(tiny, checkpoint, held_out_line, tmp_path, capsys, case):
    speech_wav, midi = held_out_line
    speech, melody, ckpt = str(speech_wav), str(midi), str(checkpoint)
    if case == "missing_speech":
        speech = str(tmp_path / "nope.wav")
    elif case == "silent_speech":
        speech = save_audio(tmp_path / "silent.wav", np.zeros(SR), SR)
    elif case == "short_speech":
        speech = save_audio(tmp_path / "short.wav", 0.3 * np.sin(np.arange(400) * 0.1), SR)
    elif case == "missing_melody":
        melody = str(tmp_path / "nope.mid")
    elif case == "empty_midi":
        melody = str(tmp_path / "empty.mid")
        pretty_midi.PrettyMIDI().write(melody)
    elif case == "missing_ckpt":
        ckpt = str(tmp_path / "nope.ckpt")
    elif case == "foreign_ckpt":
        ckpt = str(tmp_path / "foreign.ckpt")
        (tmp_path / "foreign.ckpt").write_bytes(b"not a checkpoint")
    elif case == "diverged_ckpt":  # a blown-up network: its output layer's bias far beyond any spectrogram
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
        state["state_dict"]["network.out.bias"] += 100.0
        ckpt = str(tmp_path / "diverged.ckpt")
        torch.save(state, ckpt)
    elif case == "empty_folder":
        speech = str(tmp_path / "empty")
        (tmp_path / "empty").mkdir()
    code = tiny.run("convert", speech, "--melody", melody, "--out", tmp_path / "o.wav", f"ckpt={ckpt}")
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: ")
    named = {"missing_speech": "nope.wav", "silent_speech": "silent.wav", "short_speech": "short.wav",
             "missing_melody": "nope.mid", "empty_midi": "empty.mid", "missing_ckpt": "nope.ckpt",
             "foreign_ckpt": "foreign.ckpt", "diverged_ckpt": "diverged.ckpt", "empty_folder": "empty"}[case]
    assert named in err[0]


def test_plan_prints_the_cost_of_the_paper_preset(tiny, capsys):
    assert tiny.run("plan", "--config", "paper", "--gpus", "8", "system=p_mtl") == 0
    out = capsys.readouterr().out
    assert "8 x A100" in out and "parameters" in out and "projected wall time" in out
    assert "14,000" in out and "speech encoder" in out and "phoneme head" in out
