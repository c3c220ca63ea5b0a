"""common.corpora.render: every corpus piano soundfont plays in tune, and the room simulation keeps the length
and adds its reverb, equalisation and level."""

import librosa
import numpy as np
import pytest

from common.corpora import render


def within_50_cents(estimate_hz, reference_hz):
    return 1200 * np.abs(np.log2(np.maximum(estimate_hz, 1e-3) / reference_hz)) < 50


@pytest.mark.parametrize("name", list(render.SOUNDFONTS))
def test_every_piano_soundfont_renders_its_pianos_audibly_and_in_tune(name):
    for program in (0, 1, 2):
        audio = render.render_notes([(0.0, 1.0, 60, 90), (1.0, 2.0, 72, 90)], program, 16000,
                                    soundfont=render.soundfont(name))
        assert np.sqrt(np.mean(audio**2)) > 1e-3, (name, program)
        f0 = librosa.yin(audio[2000:14000], fmin=100, fmax=1000, sr=16000)
        assert within_50_cents(np.median(f0), 261.63), (name, program, np.median(f0))


def test_record_in_room_keeps_the_length_and_adds_reverb_eq_and_level():
    dry = np.zeros((2, 44100), np.float32)
    dry[:, 1000] = 1.0  # a click
    args = dict(rt60=0.5, wet=0.3, tilt_db=0.0, peak_hz=1000.0, peak_db=0.0, level_db=-6.0, seed=0)
    wet = render.record_in_room(dry, 44100, **args)
    assert wet.shape == dry.shape and wet.dtype == np.float32
    assert np.abs(wet).max() == pytest.approx(10 ** (-6 / 20), rel=1e-5)
    tail = wet[:, 1000 + 4410:1000 + 8820]  # 100-200 ms after the click: the reverb tail
    assert np.sqrt(np.mean(tail**2)) > 1e-3 and not np.allclose(wet[0], wet[1])
    bright = render.record_in_room(dry, 44100, **{**args, "wet": 0.0, "tilt_db": 3.0})
    spectrum = np.abs(np.fft.rfft(bright[0]))
    freqs = np.fft.rfftfreq(44100, 1 / 44100)
    assert spectrum[freqs == 4000][0] / spectrum[freqs == 250][0] == pytest.approx(10 ** (12 * 1 / 20), rel=0.05)
