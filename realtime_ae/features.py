"""Frame features of the paper: 2049-bin Hann STFT magnitudes (4096 points, hop 1024 at 44.1 kHz), each
frame divided by its own peak, silent frames dropped, and a one-hot chroma per frame: the pitch class of the
frame's most salient pitch among the 88 of A0-C8 (a harmonic sum; the paper takes the argmax of an 88-band
chromagram, whose bands below about C3 get one STFT bin or none at this resolution)."""

from __future__ import annotations

import functools

import numpy as np
import torch

from common.spectral import magnitude, stft

LOWEST_PITCH, HIGHEST_PITCH = 21, 108  # A0 .. C8, the 88 bands


HARMONICS, HARMONIC_DECAY, HARMONIC_MAX_HZ = 8, 0.8, 6000.0  # the harmonic-sum pitch salience


@functools.lru_cache(maxsize=8)
def salience_matrix(sample_rate: int, n_fft: int) -> torch.Tensor:
    """(88, n_fft // 2 + 1): row p sums the magnitude near the first ``HARMONICS`` harmonics of MIDI pitch 21 + p
    (below ``HARMONIC_MAX_HZ``), harmonic h weighted ``HARMONIC_DECAY ** (h - 1)``; each harmonic reads a
    triangular lobe (unit sum) centred on its frequency, half a semitone or one bin wide, whichever is wider."""
    df = sample_rate / n_fft
    k = np.arange(n_fft // 2 + 1)
    out = np.zeros((HIGHEST_PITCH - LOWEST_PITCH + 1, len(k)))
    for row, pitch in enumerate(range(LOWEST_PITCH, HIGHEST_PITCH + 1)):
        f0 = 440.0 * 2 ** ((pitch - 69) / 12)
        for h in range(1, HARMONICS + 1):
            if h * f0 > min(HARMONIC_MAX_HZ, sample_rate / 2):
                break
            width = max(1.0, h * f0 * (2 ** (0.5 / 12) - 1) / df)
            lobe = np.clip(1 - np.abs(k - h * f0 / df) / width, 0, None)
            out[row] += HARMONIC_DECAY ** (h - 1) * lobe / lobe.sum()
    return torch.from_numpy(out.astype(np.float32))


def salient_pitch(frames: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """Magnitude frames (N, bins) -> the MIDI pitch (N,) int64 in A0..C8 whose harmonics hold the most magnitude.
    Summing harmonics keeps a weak fundamental from handing the pitch to its third harmonic (a fifth away),
    and resolves low notes whose semitones are narrower than an STFT bin. Scale-invariant per frame."""
    n_fft = 2 * (frames.shape[-1] - 1)
    return (frames.float() @ salience_matrix(sample_rate, n_fft).T).argmax(-1) + LOWEST_PITCH


def chroma_class(frames: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """Magnitude frames (N, bins) -> the pitch class (N,) int64 (0 = C) of their most salient pitch."""
    return salient_pitch(frames, sample_rate) % 12


def onehot(classes: torch.Tensor) -> torch.Tensor:
    """Pitch classes (N,) -> one-hot chroma (N, 12) float32."""
    return torch.nn.functional.one_hot(classes.long(), 12).float()


def normalise_frames(mags: torch.Tensor, floor: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Magnitude frames (N, bins) -> (frames divided by their peak, in [0, 1], of the kept frames;
    their peaks (kept,); the kept mask (N,) bool). A frame is kept when its peak exceeds ``floor``."""
    peaks = mags.amax(-1)
    keep = peaks > floor
    return mags[keep] / peaks[keep, None], peaks[keep], keep


def silence_floor(n_fft: int, silence_db: float) -> float:
    """Peak magnitude ``silence_db`` below that of a full-scale sine in a Hann-windowed ``n_fft`` STFT
    (``n_fft / 4``)."""
    return n_fft / 4 * 10 ** (silence_db / 20)


def audio_frames(audio: np.ndarray, sample_rate: int, n_fft: int, hop_length: int, silence_db: float) -> dict:
    """Mono audio (samples,) -> ``frames`` (kept, bins) in [0, 1], ``peaks`` (kept,), ``chroma`` (kept,)
    pitch classes, ``kept`` (frames,) bool mask over all STFT frames, ``phase`` (kept, bins) radians."""
    spec = stft(torch.from_numpy(np.asarray(audio, np.float32)), n_fft, hop_length).T  # (frames, bins)
    frames, peaks, kept = normalise_frames(magnitude(spec), silence_floor(n_fft, silence_db))
    return {"frames": frames, "peaks": peaks, "chroma": chroma_class(frames, sample_rate), "kept": kept,
            "phase": torch.angle(spec[kept])}


def first_difference(frames: torch.Tensor) -> torch.Tensor:
    """(N, bins) -> (N, bins - 1): the first-order difference along frequency (the paper's 2048-point
    augmentation)."""
    return frames[..., 1:] - frames[..., :-1]
