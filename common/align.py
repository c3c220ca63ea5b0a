"""Alignment evaluation: the Generalized Time Warping path error and distortions with known warping paths.

A warping path is an int64 array ``(K, 2)`` of ``(original_frame, distorted_frame)`` pairs, ascending from
``(0, 0)`` to ``(N-1, M-1)`` with steps ``(1, 0)``, ``(0, 1)`` or ``(1, 1)``: the orientation of
``common.dtw.dtw(cost_matrix(original, distorted))``. Audio paths are in frames of ``hop_length`` samples
with centred framing (``1 + len(y) // hop_length`` frames, like ``librosa.stft``).
"""

from typing import NamedTuple

import librosa
import numpy as np
import torch
from scipy.interpolate import PchipInterpolator
from scipy.spatial import cKDTree


class Distortion(NamedTuple):
    """A distorted signal or feature sequence and its ground-truth warping path from the original."""

    output: np.ndarray | torch.Tensor
    path: np.ndarray


def path_error(path_est, path_true) -> float:
    """GTW alignment error (Zhou & De la Torre 2012), in frames.

    ``(sum_i min_j |p_i - q_j| + sum_j min_i |q_j - p_i|) / (len(p) + len(q))`` for paths ``p (K, 2)``
    and ``q (L, 2)``: symmetric, and 0 exactly when both paths visit the same cells.
    """
    p, q = (np.asarray(a, dtype=np.float64) for a in (path_est, path_true))
    for name, a in (("path_est", p), ("path_true", q)):
        if a.ndim != 2 or a.shape[1] != 2 or len(a) == 0:
            raise ValueError(f"{name} must be a non-empty (K, 2) array of frame pairs, got shape {a.shape}")
    p_to_q = cKDTree(q).query(p)[0].sum()
    q_to_p = cKDTree(p).query(q)[0].sum()
    return float((p_to_q + q_to_p) / (len(p) + len(q)))


def path_from_positions(positions, n_original: int) -> np.ndarray:
    """Connected path from fractional original-frame ``positions (M,)`` of each distorted frame.

    Positions are rounded, clipped to ``[0, n_original - 1]`` and made non-decreasing; the ends are pinned
    to ``(0, 0)`` and ``(n_original - 1, M - 1)``; original frames skipped between neighbouring distorted
    frames are filled in by vertical steps so the path is a valid DTW path.
    """
    rows = np.clip(np.rint(np.asarray(positions, dtype=np.float64)), 0, n_original - 1).astype(np.int64)
    if rows.ndim != 1 or len(rows) == 0 or n_original < 1:
        raise ValueError(f"positions must be a non-empty 1-D array and n_original >= 1, got {rows.shape}")
    rows[0], rows[-1] = 0, n_original - 1
    rows = np.maximum.accumulate(rows)
    per_column = 1 + np.append(np.maximum(np.diff(rows) - 1, 0), 0)  # own cell + vertical fill cells
    first = np.repeat(np.cumsum(per_column) - per_column, per_column)
    path_rows = np.repeat(rows, per_column) + np.arange(per_column.sum()) - first
    return np.stack([path_rows, np.repeat(np.arange(len(rows)), per_column)], axis=1)


def stretch_positions(n_frames: int, rates) -> np.ndarray:
    """Fractional original-frame positions of each output frame for a time-varying stretch ``rates``.

    ``rates`` is a positive scalar (linear stretch: ``position_k = rate * k``) or control rates spread
    evenly over the original, joined by a monotone cubic (PCHIP) so the rate varies smoothly. A rate
    above 1 shortens the signal. Output frame ``k`` sits where ``integral_0^p du / rate(u) = k``.
    """
    rates = np.atleast_1d(np.asarray(rates, dtype=np.float64))
    if rates.ndim != 1 or not (rates > 0).all() or not np.isfinite(rates).all():
        raise ValueError(f"rates must be positive finite numbers, got {rates}")
    if n_frames < 2:
        raise ValueError(f"need at least 2 frames to stretch, got n_frames={n_frames}")
    last = n_frames - 1
    if len(rates) == 1:
        count = int(np.floor(last / rates[0] * (1 + 1e-12))) + 1  # tolerate round-off in last / rate
        positions = np.minimum(np.arange(count) * rates[0], last)
    else:
        grid = np.linspace(0, last, 32 * n_frames)
        inverse_rate = 1.0 / PchipInterpolator(np.linspace(0, last, len(rates)), rates)(grid)
        out_time = np.append(0.0, np.cumsum((inverse_rate[1:] + inverse_rate[:-1]) / 2 * np.diff(grid)))
        positions = np.interp(np.arange(0, np.floor(out_time[-1]) + 1), out_time, grid)
    if len(positions) < 2:
        raise ValueError(f"rates {rates} leave fewer than 2 of {n_frames} frames; use smaller rates")
    return positions


def _time_map(x, xp: np.ndarray, fp: np.ndarray):
    """Piecewise-linear map through knots ``(xp, fp)``, continued past the last knot at its final slope."""
    slope = (fp[-1] - fp[-2]) / (xp[-1] - xp[-2])
    return np.where(x <= xp[-1], np.interp(x, xp, fp), fp[-1] + (x - xp[-1]) * slope)


def _audio_path(positions_stft, hop_stft: int, n_in: int, n_out: int, hop_length: int) -> np.ndarray:
    """Path in ``hop_length`` frames for a signal whose STFT frame k (hop ``hop_stft``) reads the
    input at fractional frame ``positions_stft[k]``; ``n_in``, ``n_out`` are the lengths in samples."""
    feature_times = np.arange(1 + n_out // hop_length) * hop_length
    in_times = _time_map(feature_times, np.arange(len(positions_stft)) * hop_stft, positions_stft * hop_stft)
    return path_from_positions(in_times / hop_length, 1 + n_in // hop_length)


def _check_audio(y) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or len(y) < 2048 or not np.issubdtype(y.dtype, np.floating):
        raise ValueError(f"y must be a 1-D float waveform of at least 2048 samples, got {y.dtype} {y.shape}")
    return y


def time_stretch(y, rate: float, hop_length: int = 512) -> Distortion:
    """Linear time-stretch of mono audio ``y (samples,)`` by ``rate`` (librosa's phase vocoder)."""
    y = _check_audio(y)
    if not rate > 0:
        raise ValueError(f"rate must be positive, got {rate}")
    out = librosa.effects.time_stretch(y, rate=rate)
    positions = np.array([0.0, rate])  # librosa's vocoder (hop 512) builds output frame k from input k * rate
    return Distortion(out, _audio_path(positions, 512, len(y), len(out), hop_length))


def _phase_vocoder(S: np.ndarray, positions: np.ndarray, hop: int) -> np.ndarray:
    """Resample complex STFT frames ``S (bins, frames)`` at fractional ``positions``, phases integrated."""
    bins = S.shape[0]
    expected = 2 * np.pi * hop * np.arange(bins) / (2 * (bins - 1))  # phase advance per hop at bin centre
    S = np.pad(S, [(0, 0), (0, 2)])
    left = np.floor(positions).astype(np.int64)
    frac = positions - left
    magnitude = (1 - frac) * np.abs(S[:, left]) + frac * np.abs(S[:, left + 1])
    deviation = np.angle(S[:, left + 1]) - np.angle(S[:, left]) - expected[:, None]
    advance = expected[:, None] + (deviation - 2 * np.pi * np.round(deviation / (2 * np.pi)))
    phase = np.angle(S[:, :1]) + np.concatenate([np.zeros((bins, 1)), np.cumsum(advance, axis=1)[:, :-1]], 1)
    return magnitude * np.exp(1j * phase)


def nonlinear_time_stretch(y, rates, hop_length: int = 512, n_fft: int = 2048) -> Distortion:
    """Time-stretch mono audio ``y`` with a smoothly varying rate (see ``stretch_positions``).

    A phase vocoder (``n_fft``, hop ``n_fft // 4``) reads the input at the exact positions it returns, so
    the path is the sampled time map; with a constant rate it reproduces ``librosa.effects.time_stretch``.
    """
    y = _check_audio(y)
    hop = n_fft // 4
    S = librosa.stft(y, n_fft=n_fft, hop_length=hop)
    positions = stretch_positions(S.shape[1], rates)
    stretched = _phase_vocoder(S, positions, hop)
    n_out = int(round(float(_time_map(len(y), positions * hop, np.arange(len(positions)) * hop))))
    out = librosa.istft(stretched, hop_length=hop, n_fft=n_fft, length=n_out)
    return Distortion(out, _audio_path(positions, hop, len(y), n_out, hop_length))


def pitch_shift(y, sr: int, n_steps: float, hop_length: int = 512) -> Distortion:
    """Pitch-shift mono audio by ``n_steps`` semitones (librosa); timing is kept, so the path is diagonal."""
    y = _check_audio(y)
    out = librosa.effects.pitch_shift(y, sr=sr, n_steps=n_steps)
    n = 1 + len(y) // hop_length
    return Distortion(out, np.repeat(np.arange(n), 2).reshape(n, 2))


def stretch_features(F, rates) -> Distortion:
    """Time-stretch features ``F (..., dims, frames)`` (numpy or torch) by linear frame interpolation.

    ``rates``: a scalar (linear stretch) or smoothly interpolated control rates (``stretch_positions``).
    """
    F = F if isinstance(F, torch.Tensor) else np.asarray(F)
    if F.ndim < 2:
        raise ValueError(f"F must be (..., dims, frames), got shape {tuple(F.shape)}")
    positions = stretch_positions(F.shape[-1], rates)
    left = np.floor(positions).astype(np.int64)
    right = np.minimum(left + 1, F.shape[-1] - 1)
    frac = positions - left
    if isinstance(F, torch.Tensor):
        left, right = torch.as_tensor(left, device=F.device), torch.as_tensor(right, device=F.device)
        frac = torch.as_tensor(frac, dtype=F.dtype, device=F.device)
    out = F[..., left] * (1 - frac) + F[..., right] * frac
    return Distortion(out, path_from_positions(positions, F.shape[-1]))


def shift_features(F, n_steps: float, bins_per_semitone: float = 1.0, circular: bool = False) -> Distortion:
    """Pitch-shift log-frequency features ``F (..., bins, frames)`` by ``n_steps`` semitones.

    Bins move up by ``n_steps * bins_per_semitone`` (fractional shifts interpolate linearly); ``circular``
    wraps around (chroma), otherwise vacated bins are zero (CQT, piano roll). The path is the diagonal.
    """
    F = F if isinstance(F, torch.Tensor) else np.asarray(F)
    if F.ndim < 2:
        raise ValueError(f"F must be (..., bins, frames), got shape {tuple(F.shape)}")
    n_bins = F.shape[-2]
    source = np.arange(n_bins) - n_steps * bins_per_semitone  # out[b] = F[b - shift]
    low = np.floor(source).astype(np.int64)
    high = low + 1
    weights = [(1 - (source - low)), source - low]
    if circular:
        low, high = low % n_bins, high % n_bins
    else:
        weights = [w * ((i >= 0) & (i < n_bins)) for w, i in zip(weights, (low, high))]
        low, high = np.clip(low, 0, n_bins - 1), np.clip(high, 0, n_bins - 1)
    if isinstance(F, torch.Tensor):
        low, high = torch.as_tensor(low, device=F.device), torch.as_tensor(high, device=F.device)
        weights = [torch.as_tensor(w, dtype=F.dtype, device=F.device) for w in weights]
    out = F[..., low, :] * weights[0][:, None] + F[..., high, :] * weights[1][:, None]
    n = F.shape[-1]
    return Distortion(out, np.repeat(np.arange(n), 2).reshape(n, 2))
