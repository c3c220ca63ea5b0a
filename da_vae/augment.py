"""Training-time audio augmentation of the target domain (``data.augment``, Tasks 1-2).

Each training segment's target audio (the z-scored piano recording, or the mixture) gets, in torch on the
batch's device and before its log-mel is taken:

- a random smooth EQ: gains uniform in ``[-eq_db, eq_db]`` dB at ``eq_bands`` log-spaced frequencies from
  ``EQ_LOWEST_HZ`` to Nyquist, interpolated linearly in log-frequency (zero phase, applied in the FFT domain);
- with probability ``reverb_probability``, a synthetic room: a unit direct path plus exponentially decaying
  Gaussian noise whose decay time (RT60) is uniform in ``reverb_seconds`` and whose energy relative to the
  direct path is uniform in ``reverb_wet``, applied by FFT convolution (the tail past the segment is cut);
- a random level: gain uniform in ``[-gain_db, gain_db]`` dB.

Lengths, dtype and device are kept; the draws come from ``generator`` (its device) or torch's default RNG on
the audio's device. Training draws from :func:`step_generator`: every DDP rank its own numbers, reproducible from
(``run.seed``, rank, step), where a default RNG seeded alike on every rank would repeat one rank's draws on all.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch
from torch import Tensor

EQ_LOWEST_HZ = 60.0  # lowest EQ control frequency; below it the gain of the lowest control applies
DECAY_60DB = math.log(1000.0)  # an RT60 envelope exp(-DECAY_60DB t / RT60) falls 60 dB in amplitude at t = RT60


def step_generator(seed: int, rank: int, step: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A generator on ``device`` seeded from (``seed``, ``rank``, ``step``) through numpy's ``SeedSequence``: the
    ranks of a DDP run draw different numbers at every step, and a rerun (or a resume at that step) the same."""
    state = int(np.random.SeedSequence([seed, rank, step]).generate_state(1, np.uint64)[0] >> 1)
    return torch.Generator(device=device).manual_seed(state)


def _uniform(shape: tuple[int, ...], low: float, high: float, generator: torch.Generator | None, device,
             dtype) -> Tensor:
    draw_device = generator.device if generator is not None else device
    u = torch.rand(shape, generator=generator, device=draw_device, dtype=dtype)
    return (low + (high - low) * u).to(device)


def _normal(shape: tuple[int, ...], generator: torch.Generator | None, device, dtype) -> Tensor:
    draw_device = generator.device if generator is not None else device
    return torch.randn(shape, generator=generator, device=draw_device, dtype=dtype).to(device)


def eq_curve(gains_db: Tensor, n_fft: int, sample_rate: float) -> Tensor:
    """Linear gains ``(batch, n_fft // 2 + 1)`` of EQ controls ``gains_db (batch, bands)`` at log-spaced
    frequencies from ``EQ_LOWEST_HZ`` to Nyquist, interpolated linearly in log-frequency (flat outside)."""
    bands = gains_db.shape[1]
    freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, device=gains_db.device, dtype=gains_db.dtype)
    low, high = math.log(EQ_LOWEST_HZ), math.log(sample_rate / 2)
    position = (freqs.clamp_min(EQ_LOWEST_HZ).log() - low) / (high - low) * (bands - 1)
    position = position.clamp(0, bands - 1)
    lower = position.floor().long().clamp(max=bands - 1)
    upper = (lower + 1).clamp(max=bands - 1)
    fraction = position - lower
    db = gains_db[:, lower] * (1 - fraction) + gains_db[:, upper] * fraction
    return torch.pow(10.0, db / 20)


def room_response(rt60: Tensor, wet: Tensor, length: int, sample_rate: float,
                  generator: torch.Generator | None) -> Tensor:
    """Impulse responses ``(batch, length)``: 1 at t = 0 plus decaying noise of energy ``wet`` (batch,) and
    decay time ``rt60`` (batch,) seconds; ``wet = 0`` gives the identity."""
    t = torch.arange(length, device=rt60.device, dtype=rt60.dtype) / sample_rate
    tail = _normal((len(rt60), length), generator, rt60.device, rt60.dtype)
    tail = tail * torch.exp(-DECAY_60DB * t / rt60[:, None])
    tail[:, 0] = 0
    tail = tail / tail.square().sum(1, keepdim=True).sqrt().clamp_min(1e-12) * wet.sqrt()[:, None]
    tail[:, 0] = 1
    return tail


def augment_audio(audio: Tensor, sample_rate: float, settings: Mapping,
                  generator: torch.Generator | None = None) -> Tensor:
    """Random EQ, reverb and gain (see the module docstring) of ``audio (batch, samples)`` -> same shape, dtype
    and device; ``audio`` itself when ``settings["enabled"]`` is false."""
    if not settings["enabled"]:
        return audio
    batch, samples = audio.shape
    device, dtype = audio.device, audio.dtype
    low, high = settings["reverb_seconds"]
    rt60 = _uniform((batch,), low, high, generator, device, dtype)
    wet = _uniform((batch,), *settings["reverb_wet"], generator, device, dtype)
    wet = wet * (_uniform((batch,), 0, 1, generator, device, dtype) < settings["reverb_probability"])
    gains_db = _uniform((batch, settings["eq_bands"]), -settings["eq_db"], settings["eq_db"], generator, device, dtype)
    level_db = _uniform((batch, 1), -settings["gain_db"], settings["gain_db"], generator, device, dtype)
    ir_length = min(samples, max(1, math.ceil(high * sample_rate)))
    response = room_response(rt60, wet, ir_length, sample_rate, generator)
    n = samples + ir_length - 1  # linear convolution, no wrap-around
    spectrum = torch.fft.rfft(audio, n) * torch.fft.rfft(response, n) * eq_curve(gains_db, n, sample_rate)
    out = torch.fft.irfft(spectrum, n)[:, :samples]
    return (out * torch.pow(10.0, level_db / 20)).to(dtype)
