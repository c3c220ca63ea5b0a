"""The verbs end to end on tiny trained models: synth / transfer / interpolate write notes of the model's length
that are not silent; every bad input is one `error:` line naming the culprit, exit code 2, before any work."""

import numpy as np
import pytest
import torch

from common.audio import load_audio, save_audio
from gmvae_timbre import data, training
from tests.project import THREADS

SR, SAMPLES = 22050, 512 * 21


@pytest.fixture(scope="module")
def horn_note(tiny):
    notes = data.load_notes(tiny.config())
    path = next(p for p in notes.paths if p.startswith("Brass/Horn/"))
    return data.sol_root(tiny.config()) / path


@pytest.fixture(scope="module")
def other_checkpoints(tiny):
    """An M_GMVAE trained without labels (N = 0) and an M_VAE, 20 steps each."""
    paths = {}
    for kind, n in (("gmvae", 0), ("vae", 100)):
        assert tiny.run("train", f"model.kind={kind}", f"data.label_fraction={n}", "trainer.max_steps=20") == 0
        run = f"{kind}-N{n}-seed0-threads{THREADS}"
        paths[kind, n] = tiny.root / f"runs/gmvae_timbre/default/{run}/checkpoints/last.ckpt"
    return paths


def one_error_line(tiny, capsys, *args) -> str:
    capsys.readouterr()
    assert tiny.run(*args) == 2, args
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    return err


def test_synth_transfer_interpolate_write_audible_notes(tiny, gmvae_checkpoint, horn_note, tmp_path, capsys):
    ckpt = f"ckpt={gmvae_checkpoint}"
    assert tiny.run("synth", "--instrument", "Vc", "--pitch", "66", "--out", tmp_path / "vc.wav", ckpt) == 0
    assert tiny.run("transfer", horn_note, "--to", "Pno", "--alpha", "1.0", "--out", tmp_path / "t.wav", ckpt) == 0
    assert tiny.run("transfer", horn_note, "--to", "Pno", "--alpha", "0", "--from", "Hn", "--out",
                    tmp_path / "t0.wav", ckpt) == 0
    assert tiny.run("interpolate", horn_note, tmp_path / "vc.wav", "--steps", "3", "--out-dir", tmp_path, ckpt) == 0
    walked = sorted(tmp_path.glob("*_to_vc_*.wav"))
    assert len(walked) == 3
    for path in [tmp_path / "vc.wav", tmp_path / "t.wav", tmp_path / "t0.wav", *walked]:
        audio = load_audio(path, SR)
        assert len(audio) == SAMPLES
        assert np.abs(audio).max() > 1e-3
    # the transfer moves the sound: alpha 1 differs from alpha 0
    assert np.abs(load_audio(tmp_path / "t.wav", SR) - load_audio(tmp_path / "t0.wav", SR)).mean() > 1e-4


def test_transfer_always_prints_its_source_and_from_sets_it(tiny, gmvae_checkpoint, horn_note, tmp_path, capsys):
    ckpt = f"ckpt={gmvae_checkpoint}"
    capsys.readouterr()
    assert tiny.run("transfer", horn_note, "--to", "Pno", "--out", tmp_path / "a.wav", ckpt) == 0
    printed = capsys.readouterr().out
    assert "source: " in printed and "(inferred" in printed
    assert tiny.run("transfer", horn_note, "--to", "Pno", "--from", "Vc", "--out", tmp_path / "b.wav", ckpt) == 0
    assert "source: Vc (--from)" in capsys.readouterr().out
    # --from changes the output: the shift is mu_Pno - mu_Vc instead of mu_Pno - mu_inferred
    assert tiny.run("transfer", horn_note, "--to", "Pno", "--from", "Hn", "--out", tmp_path / "c.wav", ckpt) == 0
    assert np.abs(load_audio(tmp_path / "b.wav", SR) - load_audio(tmp_path / "c.wav", SR)).mean() > 1e-5


def test_transfer_refuses_to_overwrite_its_input(tiny, gmvae_checkpoint, horn_note, tmp_path, capsys):
    note = tmp_path / "note.wav"
    note.write_bytes(horn_note.read_bytes())
    before = note.read_bytes()
    err = one_error_line(tiny, capsys, "transfer", note, "--to", "Pno", "--out", note, f"ckpt={gmvae_checkpoint}")
    assert "is the input file" in err and note.read_bytes() == before


def test_synth_refuses_an_unlabelled_mixture_and_an_m_vae_naming_the_path(tiny, other_checkpoints, tmp_path, capsys):
    out = tmp_path / "x.wav"
    path = other_checkpoints["gmvae", 0]
    err = one_error_line(tiny, capsys, "synth", "--instrument", "Vc", "--pitch", "66", "--out", out, f"ckpt={path}")
    assert str(path) in err and "N = 0" in err
    path = other_checkpoints["vae", 100]
    err = one_error_line(tiny, capsys, "synth", "--instrument", "Vc", "--pitch", "66", "--out", out, f"ckpt={path}")
    assert str(path) in err and "M_VAE" in err
    assert not out.exists()


def test_synth_refuses_pitches_outside_the_instruments_trained_range(tiny, gmvae_checkpoint, tmp_path, capsys):
    ranges = torch.load(gmvae_checkpoint, weights_only=False)["musicrep"]["ranges"]
    low, high = ranges["Fl"]
    assert low > 21  # the checkpoint holds each instrument's trained range
    err = one_error_line(tiny, capsys, "synth", "--instrument", "Fl", "--pitch", "21", "--out", tmp_path / "x.wav",
                         f"ckpt={gmvae_checkpoint}")
    assert f"[{low}, {high}]" in err and "Fl" in err


@pytest.mark.parametrize("verb, option, value", [("synth", "--weight", "1e6"), ("synth", "--weight", "nan"),
                                                 ("synth", "--weight", "-1"), ("transfer", "--alpha", "-5"),
                                                 ("transfer", "--alpha", "nan")])
def test_out_of_range_and_nan_options_are_one_line(tiny, gmvae_checkpoint, horn_note, tmp_path, capsys, verb,
                                                   option, value):
    args = (["synth", "--instrument", "Vc", "--pitch", "66"] if verb == "synth" else ["transfer", horn_note, "--to",
                                                                                        "Pno"])
    err = one_error_line(tiny, capsys, *args, option, value, "--out", tmp_path / "x.wav", f"ckpt={gmvae_checkpoint}")
    assert option in err and "finite number in" in err


def test_folders_are_named_as_folders(tiny, gmvae_checkpoint, horn_note, tmp_path, capsys):
    out = tmp_path / "x.wav"
    err = one_error_line(tiny, capsys, "transfer", tmp_path, "--to", "Pno", "--out", out, f"ckpt={gmvae_checkpoint}")
    assert "is a folder" in err
    err = one_error_line(tiny, capsys, "interpolate", horn_note, tmp_path, f"ckpt={gmvae_checkpoint}")
    assert "is a folder" in err
    err = one_error_line(tiny, capsys, "synth", "--instrument", "Vc", "--pitch", "66", "--out", out,
                         f"ckpt={gmvae_checkpoint.parents[1]}")
    assert "is a folder" in err and str(gmvae_checkpoint) in err


def test_the_output_path_is_checked_before_any_work(tiny, horn_note, tmp_path, capsys, monkeypatch):
    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded before the output path was checked")

    monkeypatch.setattr(training, "load_model", no_model)
    err = one_error_line(tiny, capsys, "synth", "--instrument", "Vc", "--pitch", "66", "--out", tmp_path / "x.mp3x")
    assert "x.mp3x" in err and "extension" in err
    (tmp_path / "a-file").write_text("")  # a folder that cannot be made (root may write anywhere else)
    err = one_error_line(tiny, capsys, "transfer", horn_note, "--to", "Pno", "--out", tmp_path / "a-file" / "x.wav")
    assert "cannot create the folder" in err


def test_checkpoints_load_through_the_project_stamp(tiny, horn_note, tmp_path, capsys):
    unstamped = tmp_path / "plain.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {}}, unstamped)
    (tmp_path / "junk.ckpt").write_text("not a checkpoint")
    out = tmp_path / "x.wav"
    for path, needle in ((unstamped, "stamp"), (tmp_path / "junk.ckpt", "cannot be read"),
                         (tmp_path / "none.ckpt", "no such checkpoint")):
        err = one_error_line(tiny, capsys, "synth", "--instrument", "Vc", "--pitch", "66", "--out", out, f"ckpt={path}")
        assert str(path) in err and needle in err


def test_other_bad_inputs_are_one_line(tiny, gmvae_checkpoint, horn_note, tmp_path, capsys):
    ckpt = f"ckpt={gmvae_checkpoint}"
    save_audio(tmp_path / "silent.wav", np.zeros(SR, np.float32), SR)
    save_audio(tmp_path / "short.wav", 0.3 * np.sin(np.arange(2000) / 5).astype(np.float32), SR)
    out = tmp_path / "x.wav"
    cases = [
        (("transfer", tmp_path / "missing.wav", "--to", "Pno", "--out", out, ckpt), "missing.wav"),
        (("transfer", tmp_path / "silent.wav", "--to", "Pno", "--out", out, ckpt), "silent"),
        (("transfer", tmp_path / "short.wav", "--to", "Pno", "--out", out, ckpt), "too short"),
        (("transfer", horn_note, "--to", "Kazoo", "--out", out, ckpt), "Kazoo"),
        (("synth", "--instrument", "Vc", "--pitch", "5", "--out", out, ckpt), "--pitch"),
        (("interpolate", horn_note, horn_note, "--steps", "1", ckpt), "--steps"),
    ]
    for args, needle in cases:
        assert needle in one_error_line(tiny, capsys, *args)
    assert not out.exists()


def test_models_lists_the_default_model(tiny, gmvae_checkpoint, capsys):
    capsys.readouterr()
    code = tiny.run("models", f"eval.threads=[{THREADS}]")  # the eval's first thread setting names its model
    printed = capsys.readouterr().out
    assert str(gmvae_checkpoint) in printed and "present" in printed and code == 0
    assert tiny.run("models", "run.name=elsewhere") == 1
    assert "missing" in capsys.readouterr().out


def test_transfer_decodes_the_pitch_class_it_reads_and_prints_it(tiny, gmvae_checkpoint, horn_note, tmp_path, capsys):
    """With eval.snap_pitch (the default) the decoded pitch code is the mean of the class read from the note (not
    the note's own code), and the verb prints that pitch; eval.snap_pitch=false decodes the note's own code."""
    import torch

    from gmvae_timbre import inference, training

    module = training.load_model(gmvae_checkpoint)
    x = inference.read_input(module, horn_note)
    source, target = torch.tensor([0]), torch.tensor([1])
    snapped = inference.transfer_mels(module, x, source, target, 1.0, snap_pitch=True)
    mu_p = module.model.encode(x)["mu_p"]
    read = module.model.read_pitch(mu_p)
    expected = module.model.decode(module.model.encode(x)["mu_t"] + module.model.timbre_prior.means[1]
                                   - module.model.timbre_prior.means[0], module.model.pitch_prior.means[read])
    assert torch.allclose(snapped, expected, atol=1e-6)
    assert not torch.allclose(snapped, inference.transfer_mels(module, x, source, target, 1.0), atol=1e-4)
    capsys.readouterr()
    ckpt = f"ckpt={gmvae_checkpoint}"
    assert tiny.run("transfer", horn_note, "--to", "Pno", "--out", tmp_path / "a.wav", ckpt) == 0
    assert f"pitch: MIDI {inference.read_pitch(module, x)[0]} (read from the note" in capsys.readouterr().out
    raw = tmp_path / "b.wav"
    assert tiny.run("transfer", horn_note, "--to", "Pno", "--out", raw, ckpt, "eval.snap_pitch=false") == 0
    assert "pitch: MIDI" not in capsys.readouterr().out
    assert np.abs(load_audio(tmp_path / "a.wav", SR) - load_audio(raw, SR)).mean() > 1e-5
