"""Mu-law companding (ITU-T G.711 style, as in WaveNet), bit-identical to torchaudio.

``mu_law_encode``/``mu_law_decode`` give exactly the codes and values of
``torchaudio.functional.mu_law_encoding``/``mu_law_decoding`` for every input in [-1, 1]: they evaluate
the same floating-point operations, in the same order and dtype, on the same device. They differ only
where torchaudio has no sensible answer: out-of-range input is clamped and NaN raises.
"""

from __future__ import annotations

import torch
from torch import Tensor


def _mu(quantization_channels: int, dtype: torch.dtype) -> Tensor:
    # A 0-d CPU tensor, as in torchaudio: on CUDA it enters the kernels as a scalar and log1p(mu) is
    # evaluated on the CPU, so GPU results match torchaudio's bit for bit too.
    if int(quantization_channels) != quantization_channels or quantization_channels < 2:
        raise ValueError(f"quantization_channels must be an integer >= 2, got {quantization_channels}")
    return torch.tensor(quantization_channels - 1.0, dtype=dtype)


def mu_law_encode(x: Tensor, quantization_channels: int = 256) -> Tensor:
    """Quantise audio ``x`` (any shape, float) to int64 codes in ``[0, quantization_channels - 1]``.

    Values outside [-1, 1] (including +-inf) are clamped to +-1 first, so they map to the end codes;
    torchaudio does not clamp and returns codes outside the range for them. NaN raises ``ValueError``
    (torchaudio turns it into an arbitrary integer). The computation runs in ``x``'s dtype (float32 or
    float64), like torchaudio; integer input raises ``TypeError`` (scale PCM to [-1, 1] first).
    """
    if not x.is_floating_point():
        raise TypeError(f"mu_law_encode expects float audio in [-1, 1], got {x.dtype}; scale PCM first")
    if torch.isnan(x).any():
        raise ValueError(f"mu_law_encode got {int(torch.isnan(x).sum())} NaN samples; fix the audio upstream")
    mu = _mu(quantization_channels, x.dtype)
    x = x.clamp(-1.0, 1.0)
    companded = torch.sign(x) * torch.log1p(mu * torch.abs(x)) / torch.log1p(mu)
    return ((companded + 1) / 2 * mu + 0.5).to(torch.int64)


def mu_law_decode(q: Tensor, quantization_channels: int = 256) -> Tensor:
    """Map integer codes ``q`` (any shape) back to float32 audio in [-1, 1].

    Codes are not range-checked (that would need a device sync per call, which hurts sample-by-sample
    generation): codes outside ``[0, quantization_channels - 1]`` give values outside [-1, 1], as in
    torchaudio.
    """
    if q.is_floating_point() or q.is_complex():
        raise TypeError(f"mu_law_decode expects integer codes, got {q.dtype}")
    q = q.to(torch.float32)
    mu = _mu(quantization_channels, q.dtype)
    x = (q / mu) * 2 - 1.0
    return torch.sign(x) * (torch.exp(torch.abs(x) * torch.log1p(mu)) - 1.0) / mu
