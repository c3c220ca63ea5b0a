"""common.align: the GTW path error and distortions whose ground-truth paths must be right."""

import librosa
import numpy as np
import pytest
import torch

from common import align

SR, HOP = 16000, 256


def assert_valid_path(path, n_original, n_distorted):
    assert path.dtype == np.int64 and path.ndim == 2 and path.shape[1] == 2
    assert tuple(path[0]) == (0, 0) and tuple(path[-1]) == (n_original - 1, n_distorted - 1)
    steps = np.diff(path, axis=0)
    assert ((steps == [1, 0]) | (steps == [0, 1]) | (steps == [1, 1])).all(axis=1).all()


def melody(seed=1, n_notes=30, note_seconds=0.2):
    """Sine tones jumping 3-5 semitones every ``note_seconds``: sharp, unambiguous note changes."""
    rng = np.random.default_rng(seed)
    pitches = 60 + np.cumsum(rng.choice([-5, -4, -3, 3, 4, 5], size=n_notes))
    frequency = np.repeat(librosa.midi_to_hz(pitches), int(note_seconds * SR))
    return np.sin(2 * np.pi * np.cumsum(frequency) / SR)


def chroma(y, n_steps=0):
    """Chroma with the pitch classes rotated back by ``n_steps`` (to undo a pitch shift)."""
    return np.roll(librosa.feature.chroma_stft(y=y, sr=SR, n_fft=2048, hop_length=HOP, tuning=0.0), -n_steps, 0)


def best_lag(F_original, F_distorted, path, max_lag=3):
    """Lag (in frames) at which distorted features mapped back along ``path`` best match the original."""
    rows, cols = path[:, 0], path[:, 1]
    counts = np.bincount(rows, minlength=F_original.shape[1])
    mapped = np.stack([np.bincount(rows, F_distorted[k, cols], F_original.shape[1]) for k in range(12)]) / counts
    unit = [F / (np.linalg.norm(F, axis=0) + 1e-9) for F in (F_original, mapped)]
    n = F_original.shape[1]
    scores = [(unit[0][:, max(0, -lag) : n - max(0, lag)] * unit[1][:, max(0, lag) : n - max(0, -lag)]).sum(0).mean()
              for lag in range(-max_lag, max_lag + 1)]
    return int(np.argmax(scores)) - max_lag


def test_path_error_zero_for_identical_and_symmetric():
    rng = np.random.default_rng(0)
    p = align.path_from_positions(np.sort(rng.uniform(0, 49, 60)), 50)
    q = align.path_from_positions(np.sort(rng.uniform(0, 49, 60)), 50)
    assert align.path_error(p, p) == 0.0
    assert align.path_error(p, q) == align.path_error(q, p) > 0


def test_path_error_value_on_a_hand_computed_case():
    diagonal = np.array([[0, 0], [1, 1], [2, 2]])
    shifted = np.array([[0, 0], [1, 0], [2, 1], [2, 2]])
    # diagonal -> shifted: 0 + 1 + 0 ; shifted -> diagonal: 0 + 1 + 1 + 0 ; over 3 + 4 points.
    assert align.path_error(diagonal, shifted) == pytest.approx(3 / 7)
    with pytest.raises(ValueError, match="path_true"):
        align.path_error(diagonal, np.zeros((0, 2)))


def test_path_from_positions_is_a_valid_path_near_the_positions():
    rng = np.random.default_rng(1)
    positions = np.cumsum(rng.uniform(0, 3, 80))
    path = align.path_from_positions(positions, 150)
    assert_valid_path(path, 150, 80)
    own = path[np.r_[True, np.diff(path[:, 1]) > 0]]  # first cell of each distorted frame
    assert np.abs(own[1:-1, 0] - np.clip(np.rint(positions[1:-1]), 0, 149)).max() == 0


def test_stretch_positions_linear_and_smooth():
    np.testing.assert_allclose(align.stretch_positions(101, 1.25), np.arange(81) * 1.25)
    positions = align.stretch_positions(1000, [0.8, 1.25, 0.8])
    rates = np.diff(positions)
    assert (rates > 0.79).all() and (rates < 1.26).all() and positions[-1] <= 999
    assert np.abs(np.diff(rates)).max() < 0.01  # the rate changes smoothly
    with pytest.raises(ValueError, match="rates"):
        align.stretch_positions(100, [1.0, -1.0])


@pytest.mark.parametrize("rate", [0.8, 1.0, 1.25])
def test_nonlinear_stretch_with_constant_rate_equals_librosa(rate):
    y = melody(n_notes=10)
    ours = align.nonlinear_time_stretch(y, rate).output
    ref = librosa.effects.time_stretch(y, rate=rate)
    assert len(ours) == len(ref)
    np.testing.assert_allclose(ours[:-2048], ref[:-2048], atol=1e-8)  # librosa reads one frame past the end


@pytest.mark.parametrize(
    "name, make, n_steps",
    [
        ("linear 0.8", lambda y: align.time_stretch(y, 0.8, HOP), 0),
        ("linear 1.25", lambda y: align.time_stretch(y, 1.25, HOP), 0),
        ("non-linear", lambda y: align.nonlinear_time_stretch(y, [0.7, 1.3, 0.8, 1.2], HOP), 0),
        ("pitch +3", lambda y: align.pitch_shift(y, SR, 3, HOP), 3),
        ("pitch -2", lambda y: align.pitch_shift(y, SR, -2, HOP), -2),
    ],
)
def test_audio_distortion_path_is_valid_and_correct(name, make, n_steps):
    y = melody()
    distorted = make(y)
    n_original, n_distorted = 1 + len(y) // HOP, 1 + len(distorted.output) // HOP
    assert_valid_path(distorted.path, n_original, n_distorted)
    F_original, F_distorted = chroma(y), chroma(distorted.output, n_steps)
    assert F_distorted.shape[1] == n_distorted
    # The distorted chroma, mapped back along the true path, lines up with the original at lag 0.
    assert best_lag(F_original, F_distorted, distorted.path) == 0, name


def test_audio_path_follows_the_rate():
    y = melody(n_notes=10)
    slow = align.time_stretch(y, 0.5, HOP)
    assert len(slow.output) == 2 * len(y)
    own = slow.path[np.r_[True, np.diff(slow.path[:, 1]) > 0]]
    assert np.abs(own[:-1, 0] - np.rint(own[:-1, 1] * 0.5)).max() <= 0


def test_stretch_features_numpy_and_torch():
    rng = np.random.default_rng(2)
    F = rng.standard_normal((2, 5, 40))
    out, path = align.stretch_features(F, 0.5)
    assert out.shape == (2, 5, 79)
    np.testing.assert_allclose(out[..., ::2], F)  # every other output frame is an original frame
    np.testing.assert_allclose(out[..., 1::2], (F[..., :-1] + F[..., 1:]) / 2)
    assert_valid_path(path, 40, 79)
    out_torch, path_torch = align.stretch_features(torch.from_numpy(F), [0.7, 1.4])
    out_np, path_np = align.stretch_features(F, [0.7, 1.4])
    assert isinstance(out_torch, torch.Tensor)
    np.testing.assert_allclose(out_torch.numpy(), out_np)
    np.testing.assert_array_equal(path_torch, path_np)
    assert_valid_path(path_np, 40, out_np.shape[-1])


def test_stretched_features_realign_to_their_path_with_dtw():
    from common.dtw import cost_matrix, dtw

    F = chroma(melody())
    distorted = align.stretch_features(F, [0.7, 1.3, 0.9])
    _, path = dtw(cost_matrix(F, distorted.output, "cosine"))
    assert align.path_error(path, distorted.path) < 1.0


def test_shift_features():
    rng = np.random.default_rng(3)
    F = rng.random((12, 30))
    out, path = align.shift_features(F, 2, circular=True)
    np.testing.assert_allclose(out, np.roll(F, 2, axis=0))
    np.testing.assert_array_equal(path, np.stack([np.arange(30)] * 2, axis=1))
    cqt = rng.random((48, 10))
    out = align.shift_features(torch.from_numpy(cqt), -1, bins_per_semitone=2).output
    np.testing.assert_allclose(out[:-2].numpy(), cqt[2:])
    assert (out[-2:] == 0).all()
    half = align.shift_features(cqt, 0.5).output  # half a bin: mean of neighbours
    np.testing.assert_allclose(half[1:], (cqt[1:] + cqt[:-1]) / 2)


def test_audio_input_is_checked():
    with pytest.raises(ValueError, match="1-D float waveform"):
        align.time_stretch(np.zeros((2, 4096)), 1.1)
    with pytest.raises(ValueError, match="rate must be positive"):
        align.time_stretch(np.zeros(4096), 0.0)
