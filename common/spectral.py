"""Spectral transforms in torch, batched over any leading dims, on any device, float32 or float64.

Conventions follow librosa, so results match it numerically: periodic scipy windows zero-padded to
``n_fft`` in the centre, ``center=True`` pads ``n_fft // 2`` on both sides (zeros by default), and
spectrograms are laid out ``(..., freq, frames)``. Windows and window envelopes are built once per
(parameters, device, dtype) and cached; cached tensors are shared, so never modify them in place. Mel and
chroma filterbanks and spectrograms are in :mod:`common.filterbanks`.
"""

from __future__ import annotations

import functools
import math

import scipy.signal
import torch
from torch import Tensor, nn

from common.threads import intra_op_threads

WindowSpec = str | tuple


@functools.lru_cache(maxsize=64)
def _window(window: WindowSpec, win_length: int, n_fft: int, device, dtype) -> Tensor:
    """Periodic ``window`` of ``win_length`` samples, zero-padded to ``n_fft`` (centred), shape (n_fft,)."""
    if win_length > n_fft:
        raise ValueError(f"win_length={win_length} must be <= n_fft={n_fft}")
    values = torch.from_numpy(scipy.signal.get_window(window, win_length, fftbins=True))
    left = (n_fft - win_length) // 2
    values = torch.nn.functional.pad(values, (left, n_fft - win_length - left))
    return values.to(device=device, dtype=dtype)


@functools.lru_cache(maxsize=64)
def _inverse_envelope(
    window: WindowSpec, win_length: int, n_fft: int, hop_length: int, n_frames: int, device, dtype
) -> Tensor:
    """1 / (overlap-added squared window) of ``n_frames`` frames, shape (n_fft + hop_length * (n_frames - 1),);
    1 where the envelope is ~0 (those samples are left unnormalised, as librosa does)."""
    squared = _window(window, win_length, n_fft, device, dtype).square()
    envelope = _overlap_add(squared.expand(1, n_frames, n_fft), hop_length)[0]
    nonzero = envelope > torch.finfo(dtype).tiny
    return torch.where(nonzero, 1.0 / torch.where(nonzero, envelope, 1.0), 1.0)


def _overlap_add(frames: Tensor, hop_length: int) -> Tensor:
    """Sum frames (batch, n_frames, n_fft) placed every ``hop_length`` samples -> (batch, samples).

    When ``hop_length`` divides ``n_fft`` (the usual case) this is ``n_fft / hop_length`` shifted adds of
    hop-sized blocks, several times faster than ``fold``, which handles every other case.
    """
    batch, n_frames, n_fft = frames.shape
    length = n_fft + hop_length * (n_frames - 1)
    if n_fft % hop_length == 0:
        overlap = n_fft // hop_length
        blocks = frames.reshape(batch, n_frames, overlap, hop_length)
        out = frames.new_zeros(batch, n_frames + overlap - 1, hop_length)
        for k in range(overlap):
            out[:, k : k + n_frames] += blocks[:, :, k]
        return out.reshape(batch, length)
    out = nn.functional.fold(frames.transpose(-1, -2), output_size=(1, length), kernel_size=(1, n_fft),
                             stride=(1, hop_length))
    return out.reshape(batch, length)


BLOCK_SAMPLES = 1 << 17  # windowed samples per CPU block (512 KiB in float32: its spectra stay in L2), see _transform
CPU_THREADS = 1  # torch intra-op threads of the CPU transforms, whatever the caller's setting (see _transform)


def _transform(x: Tensor, n_fft, hop_length, win_length, window, center, pad_mode, reduce) -> Tensor:
    """``reduce`` (on an (items, frames, freq) layout) of the STFT of ``x`` (..., samples) -> (..., k, frames).

    On CPU without autograd, frames are windowed, transformed and reduced ``BLOCK_SAMPLES`` at a time on
    ``CPU_THREADS`` intra-op threads, whatever torch's setting: blocks let malloc reuse the temporaries
    instead of page-faulting in fresh memory on every call (2-3x faster on a 16-clip batch), and one
    thread avoids OpenMP synchronisation per block, which costs more than a second core saves on these
    memory-bound ops (measured 1.5-3x slower with two threads on a busy 2-core machine). On CUDA or
    with autograd it is one ``torch.stft``.
    """
    if x.is_complex() or not x.is_floating_point():
        raise TypeError(f"stft expects a real floating-point signal, got {x.dtype}")
    if x.numel() == 0:
        raise ValueError(f"stft got an empty signal batch of shape {tuple(x.shape)}")
    if not center and x.shape[-1] < n_fft:
        raise ValueError(f"signal of {x.shape[-1]} samples is shorter than n_fft={n_fft}; use center=True")
    win = _window(window, win_length or n_fft, n_fft, x.device, x.dtype)
    flat = x.reshape(-1, x.shape[-1])
    if x.device.type != "cpu" or (x.requires_grad and torch.is_grad_enabled()):
        spec = torch.stft(flat, n_fft, hop_length, window=win, center=center, pad_mode=pad_mode, return_complex=True)
        out = reduce(spec.transpose(-1, -2))
    else:
        with intra_op_threads(CPU_THREADS):
            out = _blocked_transform(flat, n_fft, hop_length, win, center, pad_mode, reduce)
    return out.transpose(-1, -2).reshape(*x.shape[:-1], out.shape[-1], out.shape[-2])


def _blocked_transform(flat: Tensor, n_fft, hop_length, win, center, pad_mode, reduce) -> Tensor:
    """``reduce`` of the STFT of ``flat`` (items, samples) computed block by block -> (items, frames, k)."""
    if center:
        flat = nn.functional.pad(flat[None], (n_fft // 2, n_fft // 2), mode=pad_mode)[0]
    frames = flat.unfold(-1, n_fft, hop_length)  # (items, n_frames, n_fft), a view
    items, n_frames = frames.shape[:2]
    rows = max(1, BLOCK_SAMPLES // n_fft)
    item_step, frame_step = max(1, rows // n_frames), min(rows, n_frames)
    out = None
    for i in range(0, items, item_step):
        for f in range(0, n_frames, frame_step):
            block = reduce(torch.fft.rfft(frames[i : i + item_step, f : f + frame_step] * win, dim=-1))
            if out is None:
                out = block.new_empty(items, n_frames, block.shape[-1])
            out[i : i + item_step, f : f + frame_step] = block
    return out


def stft(
    x: Tensor,
    n_fft: int,
    hop_length: int,
    win_length: int | None = None,
    window: WindowSpec = "hann",
    center: bool = True,
    pad_mode: str = "constant",
) -> Tensor:
    """Short-time Fourier transform of real signals ``x`` (..., samples) -> complex (..., n_fft//2+1, frames).

    Equals ``librosa.stft`` with the same arguments. ``pad_mode`` (used when ``center``) is one of
    "constant", "reflect", "replicate", "circular". Differentiable.
    """
    return _transform(x, n_fft, hop_length, win_length, window, center, pad_mode, lambda spec: spec)


def spectrogram(
    x: Tensor, n_fft: int, hop_length: int, win_length: int | None = None, window: WindowSpec = "hann",
    center: bool = True, pad_mode: str = "constant", power: float = 1.0,
) -> Tensor:
    """``|stft(x)| ** power``: (..., samples) -> (..., n_fft//2+1, frames); 1 for magnitude, 2 for power."""
    return _transform(x, n_fft, hop_length, win_length, window, center, pad_mode, lambda S: magnitude(S, power))


def istft(
    S: Tensor,
    n_fft: int,
    hop_length: int,
    win_length: int | None = None,
    window: WindowSpec = "hann",
    center: bool = True,
    length: int | None = None,
) -> Tensor:
    """Inverse STFT (weighted overlap-add) of complex ``S`` (..., n_fft//2+1, frames) -> real (..., samples).

    Equals ``librosa.istft``: samples where the summed squared window is ~0 are left unnormalised
    instead of raising (so ``center=False`` works). Without ``length`` the output has
    ``n_fft + hop_length * (frames - 1)`` samples, minus ``2 * (n_fft // 2)`` when ``center``; with
    ``length`` it is trimmed or zero-padded to exactly ``length``.
    """
    if S.shape[-2] != n_fft // 2 + 1:
        raise ValueError(f"S has {S.shape[-2]} frequency bins, n_fft={n_fft} needs {n_fft // 2 + 1}")
    win_length = win_length or n_fft
    start = n_fft // 2 if center else 0
    n_frames = S.shape[-1]
    if length is not None:
        n_frames = min(n_frames, math.ceil((length + 2 * start) / hop_length))
    flat = S[..., :n_frames].reshape(-1, *S.shape[-2:-1], n_frames).transpose(-1, -2)  # (items, frames, freq)
    win = _window(window, win_length, n_fft, S.device, flat.real.dtype)
    if S.device.type != "cpu" or (S.requires_grad and torch.is_grad_enabled()):
        signal = _overlap_add(torch.fft.irfft(flat, n=n_fft, dim=-1).mul_(win), hop_length)
    else:
        with intra_op_threads(CPU_THREADS):
            signal = _blocked_synthesis(flat, n_fft, hop_length, win)
    inverse = _inverse_envelope(window, win_length, n_fft, hop_length, n_frames, S.device, signal.dtype)
    if length is None:
        length = signal.shape[-1] - 2 * start
    signal = signal[:, start : start + length] * inverse[start : start + length]
    if signal.shape[-1] < length:
        signal = nn.functional.pad(signal, (0, length - signal.shape[-1]))
    return signal.reshape(*S.shape[:-2], length)


def _blocked_synthesis(flat: Tensor, n_fft: int, hop_length: int, win: Tensor) -> Tensor:
    """Overlap-add of the windowed inverse FFTs of ``flat`` (items, frames, freq), ``BLOCK_SAMPLES`` at a
    time (as ``_transform``, so temporaries are reused) -> (items, n_fft + hop_length * (frames - 1))."""
    items, n_frames = flat.shape[:2]
    out = win.new_zeros(items, n_fft + hop_length * (n_frames - 1))
    rows = max(1, BLOCK_SAMPLES // n_fft)
    item_step, frame_step = max(1, rows // n_frames), min(rows, n_frames)
    for i in range(0, items, item_step):
        for f in range(0, n_frames, frame_step):
            frames = torch.fft.irfft(flat[i : i + item_step, f : f + frame_step], n=n_fft, dim=-1).mul_(win)
            start = f * hop_length
            out[i : i + item_step, start : start + n_fft + hop_length * (frames.shape[1] - 1)] += _overlap_add(
                frames, hop_length)
    return out


def magnitude(S: Tensor, power: float = 1.0) -> Tensor:
    """``|S| ** power`` of a complex (or real) spectrogram, same shape, real dtype.

    Computed as ``(re^2 + im^2) ** (power / 2)`` with one allocation, about 3x faster on CPU than
    torch's complex ``abs`` (in float32, magnitudes below ~1e-19 lose precision). When autograd is on
    and ``power != 2`` it uses ``abs``, whose gradient at S == 0 is 0 where the square root's is NaN.
    """
    if not S.is_complex():
        return S.abs() if power == 1.0 else S.abs().pow(power)
    if power != 2.0 and S.requires_grad and torch.is_grad_enabled():
        return S.abs() if power == 1.0 else S.abs().pow(power)
    power_spec = S.real.square().addcmul_(S.imag, S.imag)
    return power_spec if power == 2.0 else power_spec.pow_(power / 2)


def log_one_plus(x: Tensor) -> Tensor:
    """``log(1 + x)`` for ``x >= 0``, same shape, within 1.2e-7 of ``torch.log1p`` (absolute where it is below 1,
    relative above).

    torch's CPU ``log1p`` is not vectorised (about 9 ns an element on one AVX-512 core against 1.3 for ``log``), and
    a training step of the separation models takes three of them over ``(batch, 21, 513)`` (``bench/spectral.py``).
    Adding 1 first rounds ``1 + x`` to float precision, which costs only the accuracy of ``log1p`` near 0 that a
    compressed magnitude never uses."""
    return torch.log(x + 1)


def log1p_magnitude(S: Tensor, power: float = 1.0) -> Tensor:
    """``log(1 + |S| ** power)``, the compressed magnitude used as network input/target."""
    return log_one_plus(magnitude(S, power))


def power_to_db(
    S: Tensor, ref: float | str = 1.0, amin: float = 1e-10, top_db: float | None = 80.0
) -> Tensor:
    """``10 * log10(max(S, amin) / max(ref, amin))`` in dB, as ``librosa.power_to_db``.

    ``ref`` is a number or ``"max"`` (each item's own maximum, like ``ref=np.max``). An item is the
    last two dims (one spectrogram); ``ref="max"`` and the ``top_db`` floor (``item max - top_db``)
    are computed per item, so a batch gives what librosa gives on each spectrogram separately.
    """
    if amin <= 0:
        raise ValueError(f"amin must be > 0, got {amin}")
    if top_db is not None and top_db < 0:
        raise ValueError(f"top_db must be >= 0, got {top_db}")
    S = S.abs()
    item_dims = tuple(range(max(S.ndim - 2, 0), S.ndim))
    db = 10.0 * torch.log10(S.clamp(min=amin))
    if ref == "max":
        db = db - 10.0 * torch.log10(S.amax(dim=item_dims, keepdim=True).clamp(min=amin))
    elif isinstance(ref, str):
        raise ValueError(f"ref must be a number or 'max', got {ref!r}")
    else:
        db = db - 10.0 * math.log10(max(abs(ref), amin))
    if top_db is not None:
        db = torch.maximum(db, db.amax(dim=item_dims, keepdim=True) - top_db)
    return db
