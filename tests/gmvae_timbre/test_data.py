"""SOL file names -> labels, the stratified split, the labelled fraction, and the scaled log-mel features."""

from pathlib import Path

import numpy as np
import pytest

from common.audio import save_audio
from common.errors import InputError
from gmvae_timbre import data


def test_labels_come_from_the_file_name():
    assert data.parse_name(Path("Brass/Horn/ordinario/Hn-ord-A#4-ff-N-N.wav")) == ("Hn", 70)
    assert data.parse_name(Path("Keyboards/Piano/ordinario/Pno-ord-C1-pp.wav")) == ("Pno", 24)
    with pytest.raises(InputError, match="Hn_A4.wav"):
        data.parse_name(Path("Brass/Horn/ordinario/Hn_A4.wav"))


def test_labelled_subset_follows_the_instrument_distribution():
    instrument = np.repeat([0, 1, 2], [40, 20, 8])
    for percent in (0, 25, 50, 75, 100):
        mask = data.labelled_subset(instrument, percent, seed=0)
        counts = [int(mask[instrument == k].sum()) for k in range(3)]
        assert counts == [round(percent / 100 * n) for n in (40, 20, 8)]
    assert not np.array_equal(data.labelled_subset(instrument, 50, 0), data.labelled_subset(instrument, 50, 1))
    with pytest.raises(InputError, match="label_fraction"):
        data.labelled_subset(instrument, 120, 0)


def test_a_sine_peaks_in_its_mel_band_and_silence_is_refused(tmp_path):
    settings = data.feature_settings({"sample_rate": 22050, "seconds": 0.5, "n_fft": 2048, "hop_length": 256,
                                      "frames": 43, "n_mels": 256, "fmin": 27.5, "fmax": 11000.0,
                                      "log_floor": 1e-5})
    t = np.arange(22050) / 22050
    low, high = (data.log_mel(0.5 * np.sin(2 * np.pi * f * t).astype(np.float32), settings) for f in (220, 1760))
    assert low.shape == (256, 43)
    assert low.mean(1).argmax() < high.mean(1).argmax()
    # a quiet recording of the same note reads the same (unnormalised: 3.9 apart), on the bins above float32's
    # rounding noise: an input at -40 dB left a bin near the floor (magnitude ~1e-5) 0.051 apart on an AMD EPYC
    quiet, audible = data.log_mel(0.01 * np.sin(2 * np.pi * 220 * t).astype(np.float32), settings), low > np.log(1e-3)
    assert audible.mean() > 0.2  # a quarter of the bins here
    np.testing.assert_allclose(quiet[audible], low[audible], atol=0.01)  # 0.0008 apart here
    save_audio(tmp_path / "silent.wav", np.zeros(22050, np.float32), 22050)
    with pytest.raises(InputError, match="silent"):
        data.read_note(tmp_path / "silent.wav", settings)
    save_audio(tmp_path / "short.wav", 0.5 * np.sin(2 * np.pi * 440 * t[:2000]).astype(np.float32), 22050)
    with pytest.raises(InputError, match="too short"):
        data.read_note(tmp_path / "short.wav", settings, min_seconds=0.5)


def test_notes_are_scaled_split_by_instrument_and_partly_labelled(tiny):
    cfg = tiny.config()
    notes = data.load_notes(cfg, label_fraction=25)
    n = len(notes.paths)
    assert notes.x.shape == (n, 256, cfg.data.frames)
    assert notes.x[notes.train].min() == pytest.approx(-1) and notes.x[notes.train].max() == pytest.approx(1)
    assert len(notes.instruments) == 12 and "Hn" in notes.instruments
    assert 0.05 < notes.val.mean() < 0.2
    assert set(notes.instrument[notes.val]) == set(range(12))  # stratified: every instrument held out
    assert not notes.labelled[notes.val].any()
    assert notes.labelled.sum() == sum(round(0.25 * (notes.instrument[notes.train] == k).sum()) for k in range(12))
    assert not data.load_notes(cfg, label_fraction=0).labelled.any()
    # the pitch class of each note matches its file name
    for path, m in zip(notes.paths[:20], notes.pitch[:20]):
        assert notes.pitches[m] == data.parse_name(Path(path))[1]
