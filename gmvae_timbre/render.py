"""Scaled log mels back to audio: undo the [-1, 1] scaling and the log, map mel bands to linear-frequency
magnitudes with the filterbank's pseudo-inverse (clamped at zero), then ``common.griffinlim``."""

from __future__ import annotations

import functools

import numpy as np
import torch

from common.filterbanks import mel_filterbank
from common.griffinlim import griffinlim


@functools.lru_cache(maxsize=4)
def _mel_pseudo_inverse(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> torch.Tensor:
    return torch.linalg.pinv(mel_filterbank(sample_rate, n_fft, n_mels, fmin, fmax))


def mel_to_audio(x: torch.Tensor, features: dict, log_min: float, log_max: float, n_iter: int = 32) -> np.ndarray:
    """Scaled log mels ``(..., n_mels, frames)`` -> float32 waveforms ``(..., samples)`` at ``sample_rate``,
    ``hop_length * (frames - 1)`` samples long, peak at most 1; the same mels always give the same audio."""
    f = features
    log_mel = (x.detach().float().cpu() + 1) / 2 * (log_max - log_min) + log_min
    inverse = _mel_pseudo_inverse(f["sample_rate"], f["n_fft"], f["n_mels"], f["fmin"], f["fmax"])
    magnitude = (inverse @ log_mel.exp()).clamp_min(0)
    # PGHI's random phases (of near-silent bins) come from a fixed generator: rendering is reproducible and
    # never draws from the global random state (rendered examples would shift a training run's noise)
    audio = griffinlim(magnitude, power=1.0, hop_length=f["hop_length"], n_iter=n_iter,
                       generator=torch.Generator().manual_seed(0)).numpy()
    peak = np.abs(audio).max(axis=-1, keepdims=True)
    return (audio / np.maximum(peak, 1.0)).astype(np.float32)
