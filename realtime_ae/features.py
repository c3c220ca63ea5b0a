"""Frame features of the paper: 2049-bin Hann STFT magnitudes (4096 points, hop 1024 at 44.1 kHz), each
frame divided by its own peak, silent frames dropped, and a one-hot chroma per frame from an 88-band
(A0-C8) chromagram."""

from __future__ import annotations

import functools

import numpy as np
import torch

from common.spectral import magnitude, stft

LOWEST_PITCH, HIGHEST_PITCH = 21, 108  # A0 .. C8, the 88 bands


@functools.lru_cache(maxsize=8)
def pitch_filterbank(sample_rate: int, n_fft: int) -> torch.Tensor:
    """(88, n_fft // 2 + 1) 0/1 matrix: STFT bin k belongs to MIDI pitch p when its frequency is within half
    a semitone of p's centre frequency (bins below A0 - 1/2 or above C8 + 1/2 belong to no band)."""
    freqs = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
    with np.errstate(divide="ignore"):
        pitch = np.round(69 + 12 * np.log2(np.maximum(freqs, 1e-9) / 440.0))
    bands = np.arange(LOWEST_PITCH, HIGHEST_PITCH + 1)[:, None]
    return torch.from_numpy((pitch[None, :] == bands).astype(np.float32))


@functools.lru_cache(maxsize=8)
def chroma_folding() -> torch.Tensor:
    """(12, 88) 0/1 matrix summing the 88 pitch bands into pitch classes C, C#, ..., B."""
    classes = np.arange(LOWEST_PITCH, HIGHEST_PITCH + 1) % 12
    return torch.from_numpy((classes[None, :] == np.arange(12)[:, None]).astype(np.float32))


def chroma_class(frames: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """Magnitude frames (N, bins) -> the strongest pitch class (N,) int64 (0 = C) of their 88-band
    chromagram (power summed per band, bands summed per pitch class). Scale-invariant per frame."""
    n_fft = 2 * (frames.shape[-1] - 1)
    bands = frames.float().square() @ pitch_filterbank(sample_rate, n_fft).T
    return (bands @ chroma_folding().T).argmax(-1)


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
