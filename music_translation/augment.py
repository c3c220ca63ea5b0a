"""The paper's local pitch modulation, batched on the training device (no librosa, no CPU workers).

A span of each segment is pitch-shifted by a delay-line shifter: two read heads whose delay ramps by
``(1 - r)`` per sample (a saw of period ``window``) and which cross-fade with sin^2 / cos^2 weights, so the
read position advances at ``r = 2^(semitones / 12)`` samples per sample: the pitch moves by ``semitones``
and the duration is kept. Outside the span (and its ``fade`` ramps) the output is the input, bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from common.mulaw import mu_law_decode, mu_law_encode


def _read(audio: torch.Tensor, position: torch.Tensor) -> torch.Tensor:
    """Linear interpolation of ``audio`` (B, T) at fractional ``position`` (B, T), clamped to the segment."""
    position = position.clamp(0, audio.shape[1] - 1)
    left = position.floor().long()
    right = (left + 1).clamp(max=audio.shape[1] - 1)
    frac = position - left
    return torch.lerp(audio.gather(1, left), audio.gather(1, right), frac)


def pitch_modulate(audio: torch.Tensor, start: torch.Tensor, length: torch.Tensor, semitones: torch.Tensor,
                   window: int, fade: int) -> torch.Tensor:
    """Shift ``audio[b, start[b] : start[b] + length[b]]`` by ``semitones[b]``.

    audio (B, T) float; start, length (B,) samples; semitones (B,); window, fade in samples. Returns (B, T).
    """
    t = torch.arange(audio.shape[1], device=audio.device)[None]
    local = (t - start[:, None]).to(audio.dtype)
    ratio = torch.pow(2.0, semitones.to(audio.dtype) / 12)[:, None]
    phase = torch.remainder((1 - ratio) * local.clamp(min=0) / window, 1.0)
    shifted = torch.zeros_like(audio)
    for offset in (0.0, 0.5):
        p = torch.remainder(phase + offset, 1.0)
        shifted = shifted + torch.sin(math.pi * p) ** 2 * _read(audio, t - window * p)
    inside_end = length[:, None].to(audio.dtype) - local
    envelope = (torch.minimum(local + 1, inside_end) / max(fade, 1)).clamp(0, 1)
    return torch.where(envelope > 0, audio + envelope * (shifted - audio), audio)


def step_generator(seed: int, rank: int, step: int) -> torch.Generator:
    """The CPU generator of training step ``step`` on DDP rank ``rank``: each rank draws its own spans, and a run
    (or a resumed one) draws the same ones again from (seed, rank, step)."""
    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, rank, step]).generate_state(1)[0]))


def random_spans(batch: int, samples: int, sample_rate: int, min_seconds: float, max_seconds: float,
                 max_semitones: float, generator: torch.Generator | None = None, device=None):
    """Per-item (start, length, semitones): a span of U(min, max) seconds at a uniform position inside the
    segment, and a shift of U(-max_semitones, max_semitones). Drawn on the CPU (``generator``), then moved."""
    u = torch.rand(3, batch, generator=generator).to(device)
    length = (sample_rate * (min_seconds + (max_seconds - min_seconds) * u[0])).long().clamp(max=samples)
    start = (u[1] * (samples - length + 1)).long()
    return start, length, (2 * u[2] - 1) * max_semitones


def draw_spans(codes: torch.Tensor, sample_rate: int, cfg: dict, generator: torch.Generator | None = None):
    """:func:`random_spans` for a batch of codes (B, T) and ``cfg`` (``AugmentConfig``)."""
    return random_spans(codes.shape[0], codes.shape[1], sample_rate, cfg["min_seconds"], cfg["max_seconds"],
                        cfg["max_semitones"], generator, codes.device)


def augment_codes(codes: torch.Tensor, sample_rate: int, cfg: dict,
                  generator: torch.Generator | None = None, spans=None) -> torch.Tensor:
    """Mu-law codes (B, T) -> codes of the pitch-modulated audio (B, T); ``cfg`` holds ``AugmentConfig``;
    ``spans`` (start, length, semitones) as :func:`draw_spans` gives them (default: drawn here)."""
    start, length, semitones = spans if spans is not None else draw_spans(codes, sample_rate, cfg, generator)
    audio = mu_law_decode(codes)
    window = max(2, round(cfg["window_ms"] * sample_rate / 1000))
    fade = round(cfg["fade_ms"] * sample_rate / 1000)
    modulated = pitch_modulate(audio, start, length, semitones, window, fade)
    return torch.where(modulated != audio, mu_law_encode(modulated), codes)  # untouched codes stay exact
