"""The shared verb checks: each refusal names the option and the path or value, and nothing is written."""

import os

import pytest

from common.checks import finite, input_file, input_folder, output_file, within
from common.errors import InputError


def test_input_file_tells_a_folder_from_a_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"--melody .*: is a folder, not a MIDI file"):
        input_file(tmp_path, "--melody", "MIDI file")
    with pytest.raises(InputError, match=r"--melody .*nope.mid: no such MIDI file"):
        input_file(tmp_path / "nope.mid", "--melody", "MIDI file")
    (tmp_path / "a.mid").write_bytes(b"x")
    assert input_file(tmp_path / "a.mid", "--melody") == tmp_path / "a.mid"
    with pytest.raises(InputError, match="is a file, not a folder"):
        input_folder(tmp_path / "a.mid", "folder")
    with pytest.raises(InputError, match="no such folder"):
        input_folder(tmp_path / "b", "folder")


def test_output_file_refuses_the_input_an_unknown_extension_and_a_read_only_folder(tmp_path):
    source = tmp_path / "in.wav"
    source.write_bytes(b"RIFF")
    with pytest.raises(InputError, match=r"--out .*in.wav: is the input file"):
        output_file(source, inputs=[tmp_path / "other.wav", source])
    link = tmp_path / "same.wav"
    link.symlink_to(source)
    with pytest.raises(InputError, match="is the input file"):
        output_file(link, inputs=[source])
    with pytest.raises(InputError, match=r"unknown extension '.mp3x'; use one of .wav, .flac, .ogg, .mp3"):
        output_file(tmp_path / "o.mp3x")
    with pytest.raises(InputError, match="is a folder"):
        output_file(tmp_path / "dir.wav" if (tmp_path / "dir.wav").mkdir() is None else None)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores permissions; a file in place of the folder fails for all
            blocker = tmp_path / "blocker"
            blocker.write_text("")
            with pytest.raises(InputError, match="cannot create the folder"):
                output_file(blocker / "o.wav")
        else:
            with pytest.raises(InputError, match="not writable"):
                output_file(locked / "o.wav")
    finally:
        locked.chmod(0o700)
    made = output_file(tmp_path / "new" / "deep" / "o.flac", inputs=[source])
    assert made.parent.is_dir() and not made.exists()


@pytest.mark.parametrize("value", ["nan", float("inf"), -5, 1e6, "abc"])
def test_finite_refuses_nan_inf_and_out_of_range(value):
    with pytest.raises(InputError, match=r"--alpha="):
        finite("--alpha", value, 0.0, 10.0)


def test_finite_returns_a_float_inside_the_bounds():
    assert finite("--alpha", "0.5", 0.0, 1.0) == 0.5
    assert finite("--gain", 3, None, None) == 3.0


def test_within_refuses_or_warns_naming_the_range(caplog):
    within("--melody", [50, 60], 40, 70, "the trained pitches")
    with pytest.raises(InputError, match=r"--melody: 1 of 2 values outside the trained pitches \[40, 70\]"):
        within("--melody", [50, 80], 40, 70, "the trained pitches")
    within("--melody", [50, 80], 40, 70, "the trained pitches", strict=False)
    assert "outside the trained pitches" in caplog.text
