"""common.pyin against librosa.pyin (the oracle): the same contour, frame for frame, on melodies, speech, noise
and silence, at the settings the project uses and at librosa's defaults."""

import librosa
import numpy as np
import pytest

from common import heldout
from common.pyin import pyin


def librosa_contour(audio, fmin, fmax, sr, frame, hop, resolution):
    f0, voiced, _ = librosa.pyin(audio, fmin=fmin, fmax=fmax, sr=sr, frame_length=frame, hop_length=hop,
                                 resolution=resolution)
    return f0, voiced


def signals():
    rng = np.random.default_rng(0)
    glide = heldout.additive(heldout.random_melody(3, 45, 70, max_step=7), 16000)
    noisy = glide + 0.05 * rng.standard_normal(len(glide)).astype(np.float32)
    yield "melody + noise, float32", noisy, 16000
    yield "melody, float64", heldout.additive(heldout.random_melody(4, 60, 84), 16000).astype(np.float64), 16000
    yield "white noise", 0.1 * rng.standard_normal(16000), 16000
    yield "silence", np.zeros(8000), 16000
    yield "melody at 4 kHz", heldout.additive(heldout.random_melody(5, 50, 72), 4000), 4000
    # a sung-like tone that drops out, jumps an octave and comes back (voicing changes, octave jumps)
    t = np.arange(32000) / 16000
    tone = np.sin(2 * np.pi * np.where(t < 1, 220, 440) * t) * ((t < 0.7) | (t > 0.9))
    yield "tone with a gap and an octave jump", tone, 16000


@pytest.mark.parametrize("resolution", [0.2, 0.1])
def test_pyin_gives_librosas_contour(resolution):
    mostly_voiced = 0
    for name, audio, sr in signals():
        frame, hop = (2048, 160) if sr == 16000 else (512, 40)
        fmax = min(1600.0, sr / 2 - 1)
        ref_f0, ref_voiced = librosa_contour(audio, 50.0, fmax, sr, frame, hop, resolution)
        f0, voiced = pyin(audio, 50.0, fmax, sr, frame, hop, resolution)
        assert np.array_equal(voiced, ref_voiced), name
        np.testing.assert_array_equal(f0, ref_f0, err_msg=name)  # NaN where unvoiced, in both
        mostly_voiced += voiced.mean() > 0.5
    assert mostly_voiced == 4  # the melodies and the tone are tracked, noise and silence are not


def test_pyin_on_speech_with_the_speech2sing_settings():
    """espeak-ng speech (many voicing changes) at speech2sing's feature settings: 64 ms frames, float32."""
    speech = heldout.speak(heldout.SENTENCES[0], heldout.MALE_VOICES[0], 16000)
    ref_f0, ref_voiced = librosa_contour(speech, 65.0, 1000.0, 16000, 1024, 160, 0.2)
    f0, voiced = pyin(speech, 65.0, 1000.0, 16000, 1024, 160, 0.2)
    assert 0.2 < ref_voiced.mean() < 0.9
    assert np.array_equal(voiced, ref_voiced)
    np.testing.assert_array_equal(f0, ref_f0)


def test_banded_viterbi_gives_librosas_states_on_the_dense_matrix():
    """The decoder alone against librosa.sequence.viterbi on the dense transition matrix, state for state, on
    observations that reach its corners: frames with no voiced candidate (all unvoiced states tie), frames whose
    candidates take all the probability (every unvoiced state at log(0 + tiny), so a jump from outside the pitch
    window can win) and candidates far from the previous frame's."""
    from common.pyin import banded_transitions, transition_matrix, viterbi

    n_bins, width = 61, 11
    rng = np.random.default_rng(1)
    for trial in range(6):
        n_frames = 40
        observation = np.zeros((2 * n_bins, n_frames))
        for t in range(n_frames):
            kind = rng.integers(3)
            if kind == 1:  # a few candidates sharing part of the probability
                observation[rng.choice(n_bins, 3, replace=False), t] = rng.dirichlet(np.ones(4))[:3]
            elif kind == 2:  # one candidate anywhere with all of it
                observation[rng.integers(n_bins), t] = 1.0
            voiced = observation[:n_bins, t].sum()
            observation[n_bins:, t] = (1 - min(voiced, 1.0)) / n_bins
        expected = librosa.sequence.viterbi(observation, transition_matrix(n_bins, width),
                                            p_init=np.full(2 * n_bins, 1 / (2 * n_bins)))
        np.testing.assert_array_equal(viterbi(observation, *banded_transitions(n_bins, width)), expected,
                                      err_msg=f"trial {trial}")
