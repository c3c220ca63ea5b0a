"""common.audio: round trips, equality with librosa.load, channel policy, and one clear error per bad file."""

import librosa
import numpy as np
import pytest
import soundfile as sf
import torch

from common.audio import AudioError, audio_info, load_audio, save_audio

RATE = 44100


def tones(channels: int, seconds: float = 0.6, noise: float = 0.0) -> np.ndarray:
    """(channels, samples) float32: a different harmonic tone per channel, plus optional noise."""
    t = np.arange(int(seconds * RATE)) / RATE
    rng = np.random.default_rng(channels)
    rows = [
        0.4 * np.sin(2 * np.pi * 220 * (c + 1) * t) + 0.1 * np.sin(2 * np.pi * 330 * (c + 1) * t)
        + noise * rng.standard_normal(t.size)
        for c in range(channels)
    ]
    return np.stack(rows).astype(np.float32)


@pytest.fixture(scope="module")
def stereo_files(tmp_path_factory):
    """The same noisy stereo clip written as wav, flac, ogg and mp3."""
    folder = tmp_path_factory.mktemp("stereo")
    audio = tones(2, noise=0.05)
    return audio, {ext: save_audio(folder / f"clip.{ext}", audio, RATE) for ext in ("wav", "flac", "ogg", "mp3")}


def test_lossless_round_trip(tmp_path):
    audio = tones(2, noise=0.05)
    wav = save_audio(tmp_path / "a" / "b" / "clip.wav", audio, RATE)  # creates parent dirs
    np.testing.assert_array_equal(load_audio(wav, RATE, channels="keep"), audio)
    flac = save_audio(tmp_path / "clip.flac", torch.from_numpy(audio), RATE)  # torch input too
    np.testing.assert_allclose(load_audio(flac, RATE, channels="keep"), audio, rtol=0, atol=2.0**-22)
    pcm = save_audio(tmp_path / "clip16.wav", audio[0], RATE, subtype="PCM_16")
    assert sf.info(pcm).subtype == "PCM_16"
    np.testing.assert_allclose(load_audio(pcm, RATE), audio[0], rtol=0, atol=2.0**-15)


@pytest.mark.parametrize("ext", ["ogg", "mp3"])
def test_lossy_round_trip_keeps_length_and_waveform(tmp_path, ext):
    audio = tones(2)
    decoded = load_audio(save_audio(tmp_path / f"clip.{ext}", audio, RATE), RATE, channels="keep")
    assert decoded.shape == audio.shape and decoded.dtype == np.float32
    for original, copy in zip(audio, decoded):
        assert np.corrcoef(original, copy)[0, 1] > 0.999  # aligned (no codec delay) and close


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "mp3"])
@pytest.mark.parametrize("rate", [16000, 22050, 48000, RATE])
def test_load_equals_librosa_load(stereo_files, ext, rate):
    _, paths = stereo_files
    mono, _ = librosa.load(paths[ext], sr=rate)
    np.testing.assert_array_equal(load_audio(paths[ext], rate), mono)
    both, _ = librosa.load(paths[ext], sr=rate, mono=False)
    np.testing.assert_array_equal(load_audio(paths[ext], rate, channels="keep"), both)


def test_offset_and_duration_equal_librosa(stereo_files):
    path = stereo_files[1]["flac"]
    expected, _ = librosa.load(path, sr=22050, offset=0.1, duration=0.25)
    np.testing.assert_array_equal(load_audio(path, 22050, offset=0.1, duration=0.25), expected)


def test_channel_policy_shapes(tmp_path):
    mono_file = save_audio(tmp_path / "mono.wav", tones(1)[0], RATE)
    stereo_file = save_audio(tmp_path / "stereo.wav", tones(2), RATE)
    surround_file = save_audio(tmp_path / "surround.wav", tones(3), RATE)
    n = tones(1).shape[1]

    assert load_audio(mono_file, RATE).shape == (n,)
    assert load_audio(mono_file, RATE, channels="keep").shape == (1, n)
    duplicated = load_audio(mono_file, RATE, channels="stereo")
    assert duplicated.shape == (2, n)
    np.testing.assert_array_equal(duplicated[0], duplicated[1])

    stereo = load_audio(stereo_file, RATE, channels="stereo")
    assert stereo.shape == (2, n)
    np.testing.assert_allclose(load_audio(stereo_file, RATE), stereo.mean(axis=0), atol=1e-7)
    assert load_audio(surround_file, RATE, channels="keep").shape == (3, n)
    assert load_audio(surround_file, 16000).shape == (int(np.ceil(n * 16000 / RATE)),)
    with pytest.raises(AudioError, match=r"surround\.wav: has 3 channels"):
        load_audio(surround_file, RATE, channels="stereo")
    with pytest.raises(ValueError, match="channels must be"):
        load_audio(stereo_file, RATE, channels="left")


def test_audio_info(stereo_files):
    audio, paths = stereo_files
    info = audio_info(paths["flac"])
    assert (info.sample_rate, info.channels, info.frames) == (RATE, 2, audio.shape[1])
    assert info.duration == pytest.approx(audio.shape[1] / RATE)
    assert info.format == "FLAC"


def write_bad_file(folder, kind):
    path = folder / f"bad_{kind}.wav"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "no_samples":
        sf.write(path, np.zeros(0, dtype=np.float32), RATE)
    elif kind == "corrupt":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif kind == "truncated_header":
        sf.write(path, tones(1)[0], RATE)
        path.write_bytes(path.read_bytes()[:30])
    elif kind in ("nan", "inf"):
        samples = tones(1)[0]
        samples[100] = np.nan if kind == "nan" else np.inf
        sf.write(path, samples, RATE, subtype="FLOAT")
    return path


@pytest.mark.parametrize(
    "kind, reason",
    [
        ("missing", "not found"),
        ("empty", "empty"),
        ("no_samples", "no audio samples"),
        ("corrupt", "cannot decode"),
        ("truncated_header", "cannot decode"),
        ("nan", "1 NaN/inf samples"),
        ("inf", "1 NaN/inf samples"),
    ],
)
def test_bad_files_raise_one_line_audio_error_naming_the_file(tmp_path, kind, reason):
    path = tmp_path / "bad_missing.wav" if kind == "missing" else write_bad_file(tmp_path, kind)
    with pytest.raises(AudioError, match=reason) as caught:
        load_audio(path, 16000)
    message = str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert path.name in message and "\n" not in message
    if kind in ("missing", "empty", "corrupt", "truncated_header"):
        with pytest.raises(AudioError, match=path.name):
            audio_info(path)


def test_offset_past_the_end_raises(stereo_files):
    with pytest.raises(AudioError, match=r"clip\.wav: has no audio samples at offset 5"):
        load_audio(stereo_files[1]["wav"], RATE, offset=5.0)


def test_save_rejects_bad_input(tmp_path):
    with pytest.raises(AudioError, match="NaN"):
        save_audio(tmp_path / "x.wav", np.array([0.0, np.nan]), RATE)
    with pytest.raises(ValueError, match="unsupported extension"):
        save_audio(tmp_path / "x.aiff", np.zeros(10), RATE)
    with pytest.raises(ValueError, match=r"\(channels, samples\)"):
        save_audio(tmp_path / "x.wav", np.zeros((1000, 2)), RATE)
    assert not any(tmp_path.iterdir())
