"""The verbs end to end on a tiny trained M_GMVAE: synth / transfer / interpolate write notes of the model's
length that are not silent; every bad input is one line on stderr and exit code 2."""

import numpy as np
import pytest

from common.audio import load_audio, save_audio
from gmvae_timbre import data

SR, SAMPLES = 22050, 256 * 42


@pytest.fixture(scope="module")
def horn_note(tiny):
    notes = data.load_notes(tiny.config())
    path = next(p for p in notes.paths if p.startswith("Brass/Horn/"))
    return data.sol_root(tiny.config()) / path


def test_synth_transfer_interpolate_write_audible_notes(tiny, gmvae_checkpoint, horn_note, tmp_path):
    ckpt = f"ckpt={gmvae_checkpoint}"
    assert tiny.run("synth", "--instrument", "Vc", "--pitch", "66", "--out", tmp_path / "vc.wav", ckpt) == 0
    assert tiny.run("transfer", horn_note, "--to", "Pno", "--alpha", "1.0", "--out", tmp_path / "t.wav", ckpt) == 0
    assert tiny.run("transfer", horn_note, "--to", "Pno", "--alpha", "0", "--source", "Hn", "--out",
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


def test_bad_inputs_are_one_line(tiny, gmvae_checkpoint, horn_note, tmp_path, capsys):
    ckpt = f"ckpt={gmvae_checkpoint}"
    save_audio(tmp_path / "silent.wav", np.zeros(SR, np.float32), SR)
    save_audio(tmp_path / "short.wav", 0.3 * np.sin(np.arange(2000) / 5).astype(np.float32), SR)
    (tmp_path / "junk.ckpt").write_text("not a checkpoint")
    out = tmp_path / "x.wav"
    cases = [
        (("transfer", tmp_path / "missing.wav", "--to", "Pno", "--out", out, ckpt), "missing.wav"),
        (("transfer", tmp_path / "silent.wav", "--to", "Pno", "--out", out, ckpt), "silent"),
        (("transfer", tmp_path / "short.wav", "--to", "Pno", "--out", out, ckpt), "too short"),
        (("transfer", horn_note, "--to", "Kazoo", "--out", out, ckpt), "Kazoo"),
        (("synth", "--instrument", "Vc", "--pitch", "5", "--out", out, ckpt), "pitch 5"),
        (("synth", "--instrument", "Vc", "--pitch", "66", "--out", out, f"ckpt={tmp_path}/none.ckpt"), "none.ckpt"),
        (("synth", "--instrument", "Vc", "--pitch", "66", "--out", out, f"ckpt={tmp_path}/junk.ckpt"), "junk.ckpt"),
        (("interpolate", horn_note, horn_note, "--steps", "1", ckpt), "--steps"),
    ]
    for args, needle in cases:
        capsys.readouterr()
        assert tiny.run(*args) == 2, args
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and needle in err, (args, err)
    assert not out.exists()
