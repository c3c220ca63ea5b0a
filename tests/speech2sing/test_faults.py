"""`convert` refuses what it cannot do well in one line naming the culprit (exit 2), before any work: an output
that is the input, a melody outside the checkpoint's trained range or above Nyquist, a checkpoint of a system
that ignores the melody or reads singing, a folder given as the melody; and `models` names the default model."""

import numpy as np
import pretty_midi
import pytest
import torch

from common.audio import save_audio
from common.lightning.checkpoint import STAMP
from speech2sing.config import SYSTEMS
from speech2sing.module import Speech2SingModule, load_module

SR = 16000


def midi_file(path, pitches, seconds=0.4):
    midi = pretty_midi.PrettyMIDI()
    voice = pretty_midi.Instrument(0)
    voice.notes += [pretty_midi.Note(90, p, k * seconds, (k + 1) * seconds) for k, p in enumerate(pitches)]
    midi.instruments.append(voice)
    midi.write(str(path))
    return path


def system_checkpoint(name, path, trained):
    """An untrained checkpoint of system ``name``, stamped as ``train`` stamps one, with the hyper-parameters of
    the trained test checkpoint."""
    hp = dict(torch.load(trained, map_location="cpu", weights_only=False)["hyper_parameters"])
    module = Speech2SingModule(system_name=name, system=dict(SYSTEMS[name], mtl_lambda=0.0), model=hp["model"],
                               optim=hp["optim"], features=hp["features"], pitch_range_hz=hp["pitch_range_hz"])
    torch.save({"hyper_parameters": dict(module.hparams), "state_dict": module.state_dict(),
                STAMP: {"package": "speech2sing", "kind": name, **module.checkpoint_facts()}}, path)
    return path


@pytest.fixture()
def speech_wav(tmp_path):
    t = np.arange(int(1.5 * SR)) / SR
    voice = sum(np.sin(2 * np.pi * k * 120 * t) / k for k in range(1, 20)) * (1 + np.sin(2 * np.pi * 3 * t)) / 8
    return save_audio(tmp_path / "speech.wav", voice.astype(np.float32), SR)


def run_convert(tiny, capsys, *args):
    code = tiny.run("convert", *args)
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


def assert_one_line(code, err, *named):
    assert code == 2 and len(err) == 1 and err[0].startswith("error: "), (code, err)
    for text in named:
        assert text in err[0], err[0]


def test_the_checkpoint_stores_the_trained_pitch_range_as_a_fact(checkpoint):
    stamp = torch.load(checkpoint, map_location="cpu", weights_only=False)[STAMP]
    assert stamp["package"] == "speech2sing" and stamp["kind"] == "p_mse" and stamp["melody"] is True
    low, high = stamp["pitch_range_hz"]
    # the tiny corpus trains on male voices singing MIDI 45-62 (110-294 Hz) with vibrato
    assert 95 < low < 115 and 290 < high < 330, (low, high)


def test_out_equal_to_the_input_is_refused(tiny, checkpoint, speech_wav, tmp_path, capsys):
    before = speech_wav.read_bytes()
    melody = midi_file(tmp_path / "m.mid", [50, 52, 53])
    code, err = run_convert(tiny, capsys, speech_wav, "--melody", melody, "--out", speech_wav, f"ckpt={checkpoint}")
    assert_one_line(code, err, "speech.wav", "input")
    assert speech_wav.read_bytes() == before


@pytest.mark.parametrize("case", ["above_range", "transpose_24", "transpose_1000", "above_nyquist"])
def test_a_melody_outside_the_trained_range_is_refused(tiny, checkpoint, speech_wav, tmp_path, capsys, case):
    pitches, extra = {"above_range": ([50, 84, 86], []), "transpose_24": ([50, 52], ["--transpose", "24"]),
                      "transpose_1000": ([50, 52], ["--transpose", "1000"]),
                      "above_nyquist": ([50, 125, 127], [])}[case]
    melody = midi_file(tmp_path / "melody.mid", pitches)
    code, err = run_convert(tiny, capsys, speech_wav, "--melody", melody, *extra, "--out", tmp_path / "o.wav",
                            f"ckpt={checkpoint}")
    assert_one_line(code, err, "--transpose" if case == "transpose_1000" else "melody.mid")
    assert not (tmp_path / "o.wav").exists()
    expected = {"above_range": "trained on", "transpose_24": "trained on", "transpose_1000": "[-48, 48]",
                "above_nyquist": "Nyquist"}[case]
    assert expected in err[0]


@pytest.mark.parametrize("name", ["b1", "singing_ae", "phsync"])
def test_a_checkpoint_that_cannot_follow_the_melody_is_refused_naming_its_path(
        tiny, checkpoint, speech_wav, tmp_path, capsys, name):
    ckpt = system_checkpoint(name, tmp_path / f"{name}.ckpt", checkpoint)
    melody = midi_file(tmp_path / "m.mid", [50, 52])
    code, err = run_convert(tiny, capsys, speech_wav, "--melody", melody, "--out", tmp_path / "o.wav", f"ckpt={ckpt}")
    assert_one_line(code, err, f"{name}.ckpt", name)


def test_a_folder_as_melody_is_named_as_a_folder(tiny, checkpoint, speech_wav, tmp_path, capsys):
    (tmp_path / "melodies").mkdir()
    code, err = run_convert(tiny, capsys, speech_wav, "--melody", tmp_path / "melodies", "--out", tmp_path / "o.wav",
                            f"ckpt={checkpoint}")
    assert_one_line(code, err, "melodies", "is a folder")


@pytest.mark.parametrize("case", ["bad_extension", "nan_transpose"])
def test_output_path_and_options_are_checked_before_the_checkpoint_is_read(tiny, speech_wav, tmp_path, capsys, case):
    melody = midi_file(tmp_path / "m.mid", [50, 52])
    out, extra = (tmp_path / "o.mp3x", []) if case == "bad_extension" else (tmp_path / "o.wav", ["--transpose", "nan"])
    missing = tmp_path / "no-such.ckpt"  # reading it would fail with another message
    code, err = run_convert(tiny, capsys, speech_wav, "--melody", melody, *extra, "--out", out, f"ckpt={missing}")
    assert_one_line(code, err, "o.mp3x" if case == "bad_extension" else "--transpose")


def test_loading_goes_through_the_project_stamp(checkpoint, tmp_path):
    from common.errors import InputError

    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    del state[STAMP]
    torch.save(state, tmp_path / "unstamped.ckpt")
    with pytest.raises(InputError, match="unstamped.ckpt.*stamp"):
        load_module(tmp_path / "unstamped.ckpt")
    with pytest.raises(InputError, match="is a folder"):
        load_module(tmp_path)


def test_models_names_the_default_convert_model(tiny, checkpoint, capsys):
    assert tiny.run("models", "system=p_mse") == 0
    out = capsys.readouterr().out
    assert str(checkpoint) in out and "present" in out and "convert" in out
    assert tiny.run("models", "system=p_mtl", "run.name=nothing-here") == 1
