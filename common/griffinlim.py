"""Phase reconstruction from STFT magnitudes: fast Griffin-Lim, PGHI initial phase, fixed-phase inversion.

Spectrograms are ``(..., n_fft // 2 + 1, frames)`` real tensors on any device, framed as
``common.spectral.stft`` (centred, librosa-compatible). ``power`` says what they hold: 1 for magnitude
``|X|``, 2 for power ``|X|^2``; there is no default, because guessing wrong silently squares the signal.
"""

import math

import numba
import numpy as np
import torch

from common.spectral import CPU_THREADS, istft, stft
from common.threads import intra_op_threads

HANN_GAUSSIAN_RATIO = 0.25645  # a Hann window of L samples ~ Gaussian exp(-pi t^2 / lambda), lambda = 0.25645 L^2


def _magnitude(S, power: float, exponent: float, name: str = "S") -> torch.Tensor:
    S = torch.as_tensor(S)
    if S.is_complex() or not S.is_floating_point() or S.ndim < 2:
        raise ValueError(f"{name} must be a real (..., bins, frames) spectrogram, got {S.dtype} {tuple(S.shape)}")
    if not power > 0 or not exponent > 0:
        raise ValueError(f"power and exponent must be positive, got power={power}, exponent={exponent}")
    if not torch.isfinite(S).all() or (S < 0).any():
        raise ValueError(f"{name} must be finite and non-negative (a magnitude or power spectrogram)")
    return S if power == exponent else S.pow(exponent / power)


@numba.njit(cache=True)
def _enqueue(j, value, level, phase, head, after):
    """Give coefficient ``j`` its phase, mark it done (level -1) and push it on its level's stack."""
    lv = level[j]
    level[j], phase[j], after[j], head[lv] = -1, value, head[lv], j
    return lv


@numba.njit(cache=True)
def _integrate(log_mag, time_advance, freq_advance, floor, phase, n_levels):
    """Phase gradient heap integration (Prusa et al. 2017) of one (bins, frames) spectrogram, in place.

    Starting from the largest coefficient, phase spreads to neighbours in decreasing order of magnitude by
    the trapezoidal rule on the per-frame (``time_advance``) and per-bin (``freq_advance``) phase steps.
    The max-heap is a bucket queue over ``n_levels`` log-magnitude levels (order exact to ~0.1 dB).
    Coefficients below ``floor`` (log magnitude) keep the phase they came with.
    """
    K, T = log_mag.shape
    key, flat = log_mag.ravel(), phase.ravel()
    scale = (n_levels - 1) / max(key.max() - floor, 1e-12)
    level = np.empty(K * T, dtype=np.int32)  # -1: below the floor or already integrated
    first = np.zeros(n_levels + 1, dtype=np.int64)  # counting sort: seeds by decreasing level
    for i in range(K * T):
        level[i] = int((key[i] - floor) * scale) if key[i] >= floor else -1
        first[n_levels - 1 - level[i]] += 1
    first = np.cumsum(first) - first
    seeds = np.empty(first[n_levels], dtype=np.int32)
    for i in range(K * T):
        if level[i] >= 0:
            seeds[first[n_levels - 1 - level[i]]] = i
            first[n_levels - 1 - level[i]] += 1
    head, after = np.full(n_levels, -1, dtype=np.int32), np.empty(K * T, dtype=np.int32)
    for seed in seeds:
        if level[seed] < 0:
            continue
        top, queued = _enqueue(seed, 0.0, level, flat, head, after), 1
        while queued > 0:
            while head[top] == -1:
                top -= 1
            idx = head[top]
            head[top] = after[idx]
            k, n, here = idx // T, idx % T, flat[idx]
            queued -= 1
            if n + 1 < T and level[idx + 1] >= 0:
                step = 0.5 * (time_advance[k, n] + time_advance[k, n + 1])
                top, queued = max(top, _enqueue(idx + 1, here + step, level, flat, head, after)), queued + 1
            if n > 0 and level[idx - 1] >= 0:
                step = 0.5 * (time_advance[k, n] + time_advance[k, n - 1])
                top, queued = max(top, _enqueue(idx - 1, here - step, level, flat, head, after)), queued + 1
            if k + 1 < K and level[idx + T] >= 0:
                step = 0.5 * (freq_advance[k, n] + freq_advance[k + 1, n])
                top, queued = max(top, _enqueue(idx + T, here + step, level, flat, head, after)), queued + 1
            if k > 0 and level[idx - T] >= 0:
                step = 0.5 * (freq_advance[k, n] + freq_advance[k - 1, n])
                top, queued = max(top, _enqueue(idx - T, here - step, level, flat, head, after)), queued + 1


@numba.njit(cache=True)
def _phase_steps(log_mag, hop_length, n_fft, lam):
    """Phase advance per frame and per bin from log-magnitude slopes (Gaussian-window STFT, frame-start
    phase reference as torch.stft): per frame ``a * (N / lam * ds/dk + 2 pi k / N)``, per bin
    ``-lam / (a N) * ds/dn - pi`` for hop ``a``, ``N = n_fft`` (central differences; one-sided at the first
    and last frame; across bins mirrored at DC and Nyquist, where the slope is therefore 0)."""
    K, T = log_mag.shape
    time_advance, freq_advance = np.empty((K, T)), np.empty((K, T))
    for k in range(K):
        lo_k, hi_k = abs(k - 1), K - 1 - abs(K - 2 - k)  # mirrored: |X| is even about DC and Nyquist
        for n in range(T):
            lo_n, hi_n = max(n - 1, 0), min(n + 1, T - 1)
            d_bin = (log_mag[hi_k, n] - log_mag[lo_k, n]) / max(hi_k - lo_k, 1)
            d_frame = (log_mag[k, hi_n] - log_mag[k, lo_n]) / max(hi_n - lo_n, 1)
            time_advance[k, n] = hop_length * (n_fft / lam * d_bin + 2 * np.pi * k / n_fft)
            freq_advance[k, n] = -lam / (hop_length * n_fft) * d_frame - np.pi
    return time_advance, freq_advance


@numba.njit(cache=True)
def _pghi_batch(magnitude, phase, hop_length, n_fft, lam, tolerance):
    for b in range(magnitude.shape[0]):  # serial: numba's OpenMP threads fight torch's on a busy CPU
        log_mag = np.log(np.maximum(magnitude[b].astype(np.float64), 1e-300))
        time_advance, freq_advance = _phase_steps(log_mag, hop_length, n_fft, lam)
        _integrate(log_mag, time_advance, freq_advance, log_mag.max() + np.log(tolerance), phase[b], 1024)
        for k in (0, phase.shape[1] - 1):  # a real signal's DC and Nyquist coefficients are real: 0 or pi
            for n in range(phase.shape[2]):
                phase[b, k, n] = 0.0 if np.cos(phase[b, k, n]) >= 0 else np.pi


def _random_phase(shape, generator, dtype) -> torch.Tensor:
    """Uniform phase in [0, 2 pi) of shape (..., bins, frames), except 0 at DC and Nyquist (real there).

    A random sign per frame on a strong DC (an offset) is a local minimum Griffin-Lim does not leave.
    """
    phase = (2 * math.pi) * torch.rand(shape, generator=generator, dtype=dtype)
    phase[..., 0, :] = 0
    phase[..., -1, :] = 0
    return phase


def pghi_phase(magnitude, hop_length: int, win_length: int | None = None, tolerance: float = 1e-5,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """Phase (radians, same shape/device) estimated from a Hann-window STFT ``magnitude (..., bins, frames)``.

    Phase-gradient heap integration: the time and frequency derivatives of the phase follow from those of
    the log-magnitude for a Gaussian window (Hann approximated by ``lambda = 0.25645 * win_length^2``).
    Coefficients below ``tolerance`` x the item's maximum get uniform random phase. DC and Nyquist phases
    are 0 or pi (the STFT of a real signal is real there): their log-magnitude slope across bins is 0 (|X| is
    even about them), and the integrated phase is rounded to the nearer of the two. Runs on the CPU.
    """
    return _pghi(_magnitude(magnitude, 1.0, 1.0, "magnitude"), hop_length, win_length, tolerance, generator)


def _pghi(magnitude: torch.Tensor, hop_length, win_length, tolerance, generator) -> torch.Tensor:
    n_fft = 2 * (magnitude.shape[-2] - 1)
    lam = HANN_GAUSSIAN_RATIO * (win_length or n_fft) ** 2
    flat = magnitude.detach().reshape(-1, *magnitude.shape[-2:]).cpu().contiguous()
    phase = _random_phase(flat.shape, generator, torch.float64)
    _pghi_batch(flat.numpy(), phase.numpy(), hop_length, n_fft, lam, tolerance)
    return phase.reshape(magnitude.shape).to(magnitude.device, magnitude.dtype)


def griffinlim(S, *, power: float, hop_length: int, n_iter: int = 32, momentum: float = 0.99,
               exponent: float = 1.0, init="pghi", win_length: int | None = None, window="hann",
               length: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Fast Griffin-Lim (Perraudin et al. 2013) waveform ``(..., samples)`` from ``S (..., bins, frames)``.

    Targets the magnitude ``S ** (exponent / power)`` (``exponent=1.2`` sharpens as speech2sing does).
    Each iteration projects onto consistent spectrograms (istft then stft), then extrapolates:
    ``c = t + momentum * (t - t_prev)`` (0 gives classic Griffin-Lim). ``init``: "pghi" (phase-gradient
    heap integration, Hann windows; better per iteration, costs about a few iterations on the CPU),
    "random" (uniform, 0 at DC and Nyquist), "zeros", or a phase tensor in radians broadcastable to ``S``.
    """
    target = _magnitude(S, power, exponent)
    if n_iter < 0 or momentum < 0:
        raise ValueError(f"n_iter and momentum must be >= 0, got n_iter={n_iter}, momentum={momentum}")
    n_fft = 2 * (target.shape[-2] - 1)
    if isinstance(init, torch.Tensor):
        phase = init.to(target.device, target.dtype).expand_as(target)
    elif init == "pghi":
        if window != "hann":
            raise ValueError(f"init='pghi' assumes a Hann window, got window={window!r}; use init='random'")
        magnitude = target if exponent == 1 else target.pow(1 / exponent)  # PGHI needs the true magnitude
        phase = _pghi(magnitude, hop_length, win_length, 1e-5, generator)
    elif init == "random":
        phase = _random_phase(target.shape, generator, target.dtype).to(target.device)
    elif init == "zeros":
        phase = torch.zeros_like(target)
    else:
        raise ValueError(f"init={init!r} is unknown; use 'pghi', 'random', 'zeros' or a phase tensor")
    spec_args = {"n_fft": n_fft, "hop_length": hop_length, "win_length": win_length, "window": window}
    estimate = torch.polar(target, phase)
    if length is None:
        length = hop_length * (target.shape[-1] - 1)
    previous, scale = None, target.unsqueeze(-1)
    with intra_op_threads(CPU_THREADS if target.device.type == "cpu" else None):  # as the transforms do
        for _ in range(n_iter):
            rebuilt = stft(istft(estimate, length=length, **spec_args), **spec_args)
            # In place on the previous iterate: previous + (1 + m) (t - previous) = t + m (t - previous).
            estimate = rebuilt.clone() if previous is None else previous.lerp_(rebuilt, 1 + momentum)
            previous = rebuilt
            torch.view_as_real(torch.sgn(estimate, out=estimate)).mul_(scale)  # real multiply: faster than complex
        return istft(estimate, length=length, **spec_args)


def noise_phase(n_fft: int, n_frames: int, hop_length: int | None = None, generator: torch.Generator | None = None,
                device=None, dtype=torch.float32) -> torch.Tensor:
    """Phase ``(n_fft // 2 + 1, n_frames)`` in radians of the STFT of white noise, to store and reuse."""
    if n_fft < 2 or n_frames < 1:
        raise ValueError(f"need n_fft >= 2 and n_frames >= 1, got {n_fft}, {n_frames}")
    hop_length = hop_length or n_fft // 4
    noise = torch.randn(hop_length * (n_frames - 1) + 1, generator=generator, dtype=dtype)
    return torch.angle(stft(noise.to(device), n_fft, hop_length))


def fixed_phase_inversion(S, phase: torch.Tensor, *, power: float, hop_length: int, exponent: float = 1.0,
                          win_length: int | None = None, window="hann", length: int | None = None) -> torch.Tensor:
    """Waveform ``(..., samples)`` from ``S (..., bins, frames)`` with a stored ``phase (bins, P)`` (radians).

    No iterations: the magnitude ``S ** (exponent / power)`` gets the stored phase, repeated cyclically
    along frames when ``P`` is shorter than ``S`` (the realtime_ae synth's white-noise phase).
    """
    target = _magnitude(S, power, exponent)
    phase = torch.as_tensor(phase)
    if phase.ndim != 2 or phase.shape[0] != target.shape[-2]:
        raise ValueError(f"phase must be (bins={target.shape[-2]}, frames), got {tuple(phase.shape)}")
    frames = torch.arange(target.shape[-1], device=phase.device) % phase.shape[1]
    phase = phase[:, frames].to(target.device, target.dtype)
    return istft(torch.polar(target, phase.expand_as(target)), 2 * (target.shape[-2] - 1), hop_length,
                 win_length, window, length=length)
