"""Mel and chroma filterbanks and the spectrograms banded by them, in torch, batched over any leading dims, on
any device, equal to librosa's (``librosa.filters.mel``/``chroma``, ``librosa.feature.melspectrogram`` /
``chroma_stft``); the STFT itself is :mod:`common.spectral`'s. Filterbanks are cached per (parameters, device,
dtype) and shared, so never modify them in place.
"""

from __future__ import annotations

import functools
import inspect
import math

import librosa
import torch
from torch import Tensor, nn

from common.spectral import WindowSpec, _transform, magnitude


@functools.lru_cache(maxsize=32)
def mel_filterbank(
    sample_rate: float, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None, htk: bool = False,
    norm: str | float | None = "slaney", device: torch.device | str | None = None, dtype: torch.dtype = torch.float32,
) -> Tensor:
    """``librosa.filters.mel`` as a cached (n_mels, n_fft//2+1) tensor; frequencies in Hz."""
    weights = librosa.filters.mel(
        sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm, dtype="float64"
    )
    return torch.from_numpy(weights).to(device=device, dtype=dtype)


@functools.lru_cache(maxsize=32)
def chroma_filterbank(
    sample_rate: float, n_fft: int, n_chroma: int = 12, tuning: float = 0.0,
    device: torch.device | str | None = None, dtype: torch.dtype = torch.float32,
) -> Tensor:
    """``librosa.filters.chroma`` as a cached (n_chroma, n_fft//2+1) tensor; ``tuning`` in bins."""
    weights = librosa.filters.chroma(sr=sample_rate, n_fft=n_fft, n_chroma=n_chroma, tuning=tuning, dtype="float64")
    return torch.from_numpy(weights).to(device=device, dtype=dtype)


def _banded(x: Tensor, filterbank: Tensor, power: float, stft_args: tuple) -> Tensor:
    """(bands, freq) filterbank applied to ``|stft(x)| ** power`` -> (..., bands, frames)."""
    return _transform(x, *stft_args, lambda S: magnitude(S, power) @ filterbank.T)


def mel_spectrogram(
    x: Tensor, sample_rate: float, n_fft: int, hop_length: int, n_mels: int, win_length: int | None = None,
    window: WindowSpec = "hann", center: bool = True, pad_mode: str = "constant", power: float = 2.0,
    fmin: float = 0.0, fmax: float | None = None, htk: bool = False, norm: str | float | None = "slaney",
) -> Tensor:
    """Mel spectrogram of ``x`` (..., samples) -> (..., n_mels, frames) as ``librosa.feature.melspectrogram``.

    ``power=2`` gives power (energy), ``power=1`` magnitude.
    """
    filterbank = mel_filterbank(sample_rate, n_fft, n_mels, fmin, fmax, htk, norm, x.device, x.dtype)
    return _banded(x, filterbank, power, (n_fft, hop_length, win_length, window, center, pad_mode))


def chroma(
    x: Tensor | None = None, *, sample_rate: float, S: Tensor | None = None, n_fft: int = 2048,
    hop_length: int = 512, win_length: int | None = None, window: WindowSpec = "hann", center: bool = True,
    pad_mode: str = "constant", tuning: float = 0.0, n_chroma: int = 12, norm: float | None = math.inf,
) -> Tensor:
    """Chromagram (..., n_chroma, frames) of a waveform ``x`` or power spectrogram ``S`` (..., freq, frames).

    Equals ``librosa.feature.chroma_stft`` with the same ``tuning``. Unlike librosa, tuning is not
    estimated per call: the default is A440 (0.0); pass ``librosa.estimate_tuning(...)`` to match
    librosa's default. Each frame is divided by its ``norm`` (inf, 1 or 2; None to skip); frames
    with zero norm stay zero.
    """
    if (x is None) == (S is None):
        raise ValueError("chroma needs exactly one of a waveform `x` or a power spectrogram `S`")
    if S is None:
        filterbank = chroma_filterbank(sample_rate, n_fft, n_chroma, tuning, x.device, x.dtype)
        raw = _banded(x, filterbank, 2.0, (n_fft, hop_length, win_length, window, center, pad_mode))
    else:
        filterbank = chroma_filterbank(sample_rate, 2 * (S.shape[-2] - 1), n_chroma, tuning, S.device, S.dtype)
        raw = torch.matmul(filterbank, S)
    if norm is None:
        return raw
    if norm == math.inf:
        lengths = raw.abs().amax(dim=-2, keepdim=True)
    else:
        lengths = torch.linalg.vector_norm(raw, ord=norm, dim=-2, keepdim=True)
    return raw / torch.where(lengths < torch.finfo(raw.dtype).tiny, 1.0, lengths)


def onehot_chroma(chroma: Tensor, threshold: float = 0.0) -> Tensor:
    """One-hot of each frame's strongest pitch class: (..., n_chroma, frames) -> same shape, same dtype.

    Ties go to the lowest pitch class. Frames whose maximum is <= ``threshold`` (silent or all-zero
    frames with the default 0) become all-zero.
    """
    peak, index = chroma.max(dim=-2, keepdim=True)
    onehot = torch.zeros_like(chroma).scatter_(-2, index, 1.0)
    return onehot * (peak > threshold)


class MelSpectrogram(nn.Module):
    """:func:`mel_spectrogram` as a module (for ``nn.Sequential`` and friends), with the same arguments.

    It holds no tensors: windows and filterbanks come from the per-device/dtype caches.
    """

    def __init__(self, sample_rate: float, n_fft: int, hop_length: int, n_mels: int, **options):
        super().__init__()
        inspect.signature(mel_spectrogram).bind(None, sample_rate, n_fft, hop_length, n_mels, **options)
        self.args, self.options = (sample_rate, n_fft, hop_length, n_mels), options

    def forward(self, x: Tensor) -> Tensor:
        """(..., samples) -> (..., n_mels, frames)."""
        return mel_spectrogram(x, *self.args, **self.options)
