"""Bad or odd inputs to render, resynth and the synth config: one `error:` line naming the file, row or key, exit
2, before any work; never a traceback, never an overwritten input."""

import os

import numpy as np
import pytest
import soundfile as sf
import torch

SR = 44100


def one_error_line(capsys) -> str:
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), lines
    return lines[0]


@pytest.fixture
def clip(tiny, trained):
    return next((tiny.root / "synthetic/scales/one_octave/test").glob("*.wav"))


def render(tiny, tmp_path, text: str | bytes, *extra) -> int:
    path = tmp_path / "path.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return tiny.run("render", path, "--out", tmp_path / "out.wav", *extra)


def test_resynth_refuses_to_overwrite_its_input(tiny, trained, tmp_path, capsys):
    source = tmp_path / "take.wav"
    sf.write(source, 0.3 * np.sin(np.arange(SR) * 2 * np.pi * 330 / SR), SR)
    before = source.read_bytes()
    assert tiny.run("resynth", source, "--out", source) == 2
    assert "is the input file" in one_error_line(capsys) and source.read_bytes() == before


@pytest.mark.parametrize(("case", "text", "says"), [
    ("binary", b"\x89PNG\r\n\x1a\n\x00\xff\xfe\x00" * 20, "not a text CSV"),
    ("negative time", "time,z0,z1,chroma\n-0.5,0.2,0.2,C\n", "path.csv:2: time=-0.5 is negative"),
    ("extra z", "time,z0,z1,z2,chroma\n0,0.2,0.2,0.9,C\n", "unknown column(s) z2"),
    ("z = 100", "time,z0,z1,chroma\n0,0.2,0.2,C\n0.5,100,0.2,D\n", "path.csv:3: latent [100.0, 0.2] outside [0, 1]"),
    ("NaN latent", "time,z0,z1,chroma\n0,0.2,0.2,C\n0.5,nan,0.2,D\n", "path.csv:3: z0=nan is not a finite"),
    ("volume", "time,z0,z1,chroma,volume\n0,0.2,0.2,C,3\n", "path.csv:2: volume=3 is outside [0, 1]"),
])
def test_render_refuses_a_bad_trajectory_in_one_line(tiny, trained, tmp_path, capsys, case, text, says):
    assert render(tiny, tmp_path, text) == 2
    assert says in one_error_line(capsys)
    assert not (tmp_path / "out.wav").exists()


def test_render_warns_of_latents_outside_the_training_range_and_never_clips(tiny, trained, tmp_path, caplog):
    assert render(tiny, tmp_path, "time,z0,z1,chroma,volume\n0,0.0,1.0,C,1\n0.5,1.0,0.0,F#,1\n") == 0
    assert "outside the training set's latents" in caplog.text
    audio, _ = sf.read(tmp_path / "out.wav")
    assert np.abs(audio).max() < 1.0  # the engine's limiter, not a clip at the file write


@pytest.mark.parametrize(("key", "says"), [("synth.phase=pghi", "synth.phase='pghi'"),
                                           ("synth.frames_per_decode=0", "synth.frames_per_decode=0"),
                                           ("synth.volume=nan", "synth.volume=nan")])
def test_bad_synth_keys_are_one_line_before_any_work(tiny, trained, tmp_path, capsys, key, says):
    assert render(tiny, tmp_path, "time,z0,z1,chroma\n0,0.2,0.2,C\n", key) == 2
    assert says in one_error_line(capsys)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_an_unwritable_output_folder_is_refused_before_the_work(tiny, trained, clip, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert tiny.run("resynth", clip, "--out", locked / "out.wav") == 2
        assert "not writable" in one_error_line(capsys)
    finally:
        locked.chmod(0o700)


def test_an_unwritable_output_folder_is_checked_before_the_model_loads(tiny, trained, clip, tmp_path, capsys,
                                                                       monkeypatch):
    """As root (this machine) a read-only folder is writable, so the order of the checks is tested directly: the
    output check fails first, the model is never loaded."""
    from common import checks
    from realtime_ae import module

    loaded = []
    monkeypatch.setattr(module, "load_checkpoint", lambda *a, **k: loaded.append(a))
    monkeypatch.setattr(checks.os, "access", lambda path, mode: False)
    assert tiny.run("resynth", clip, "--out", tmp_path / "out.wav") == 2
    assert "not writable" in one_error_line(capsys) and not loaded


@pytest.mark.parametrize("case", ["folder", "other package", "other kind"])
def test_checkpoints_load_through_the_shared_loader(tiny, trained, clip, tmp_path, capsys, case):
    if case == "folder":
        bad = trained.parents[1]
        says = "is a folder"
    else:
        checkpoint = torch.load(trained, weights_only=False)
        checkpoint["musicrep"] = {"package": "gmvae_timbre", "kind": "GMVAE"} if case == "other package" else \
            {"package": "realtime_ae", "kind": "SomethingElse"}
        bad = tmp_path / "bad.ckpt"
        torch.save(checkpoint, bad)
        says = "gmvae_timbre checkpoint" if case == "other package" else "holds a SomethingElse model"
    assert tiny.run("resynth", clip, "--out", tmp_path / "o.wav", f"ckpt={bad}") == 2
    line = one_error_line(capsys)
    assert str(bad) in line and says in line


def test_models_lists_the_default_model_and_the_verbs_use_it(tiny, trained, tmp_path, capsys):
    from realtime_ae.experiments import default_checkpoint

    cfg = tiny.config("run.name=fresh")
    assert tiny.run("models", "run.name=fresh") == 1  # missing before the eval made it
    out = capsys.readouterr().out
    assert str(default_checkpoint(cfg)) in out and "missing" in out and "render" in out
    default_checkpoint(cfg).parent.mkdir(parents=True)
    default_checkpoint(cfg).write_bytes(trained.read_bytes())
    assert tiny.run("models", "run.name=fresh") == 0 and "present" in capsys.readouterr().out
    assert tiny.run("render", "--out", tmp_path / "o.wav", tmp_path / "p.csv", "run.name=fresh") == 2  # no CSV yet
    (tmp_path / "p.csv").write_text("time,z0,z1,chroma\n0,0.3,0.6,A\n")
    assert tiny.run("render", tmp_path / "p.csv", "--out", tmp_path / "o.wav", "run.name=fresh") == 0
