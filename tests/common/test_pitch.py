"""The shared pitch measures against known tones and against mir_eval."""

import librosa
import mir_eval
import numpy as np
import pytest

from common.pitch import agreement, note_errors, spectral_flatness, track_pitch

SR = 16000


def tone(hz, seconds=1.0, harmonics=5):
    t = np.arange(int(seconds * SR)) / SR
    return sum(np.sin(2 * np.pi * k * hz * t) / k for k in range(1, harmonics + 1)).astype(np.float32) * 0.3


@pytest.mark.parametrize("midi", [45, 60, 81])
def test_track_pitch_finds_a_known_tone_within_ten_cents(midi):
    times, f0 = track_pitch(tone(librosa.midi_to_hz(midi)), SR)
    voiced = f0 > 0
    assert voiced.mean() > 0.9
    assert np.median(np.abs(librosa.hz_to_midi(f0[voiced]) - midi)) < 0.1
    assert times[1] - times[0] == pytest.approx(0.01)


def test_agreement_counts_only_frames_voiced_in_both():
    times = np.arange(100) * 0.01
    ref = np.full(100, 220.0)
    est = ref * 2 ** (np.where(np.arange(100) < 50, 0.0, 100) / 1200)  # half the frames 100 cents sharp
    est[:20] = 0  # unvoiced in the estimate: not scored as pitch, counted against voicing
    got = agreement((times, ref), (times, est))
    assert got.both == 80
    assert got.accuracy == pytest.approx(30 / 80)
    assert got.voiced_ratio == pytest.approx(0.8)
    assert got.recall == pytest.approx(0.8)
    # the same as mir_eval's raw pitch accuracy on the frames voiced in both
    rv, rc, ev, ec = mir_eval.melody.to_cent_voicing(times, np.where(est > 0, ref, 0), times, est)
    assert got.accuracy == pytest.approx(mir_eval.melody.raw_pitch_accuracy(rv, rc, ev, ec))


def test_a_constant_pitch_does_not_follow_a_melody():
    times = np.arange(200) * 0.01
    ref = np.where(times < 1, 220.0, 330.0)
    got = agreement((times, ref), (times, np.full(200, 220.0)))
    assert got.accuracy == pytest.approx(0.5)


def test_note_errors_per_note_in_cents():
    times = np.arange(200) * 0.01
    est = np.where(times < 1, librosa.midi_to_hz(60), librosa.midi_to_hz(63.5))
    errors = note_errors((times, est), (times, est), [(0.0, 1.0, 60), (1.0, 2.0, 63), (2.5, 3.0, 60)])
    assert errors[0] == pytest.approx(0, abs=1e-6) and errors[1] == pytest.approx(50, abs=1e-6)
    assert np.isnan(errors[2])


def test_spectral_flatness_separates_a_tone_from_noise():
    noise = np.random.default_rng(0).standard_normal(SR).astype(np.float32) * 0.1
    assert spectral_flatness(tone(220), SR) < 0.01 < 0.3 < spectral_flatness(noise, SR)
