"""The synthesis engine: (latent, chroma, volume) -> audio, one hop (1024 samples, 23.2 ms) per call.

Each block decodes one 2049-bin magnitude frame, gives it a phase, inverts it (irfft, Hann synthesis window)
and overlap-adds it at 75% overlap, exactly like an inverse STFT. Phase is a stored white-noise STFT phase
cycled frame by frame (``"noise"``, as in the paper), or the same noise phase at the first frame advanced by
each bin's centre frequency per hop (``"advance"``: coherent partials at bin centres). A frame is decoded only
when the (smoothed) latent or the chroma changed since the last block. Smoothing: the latent
follows its target with a one-pole filter of ``smoothing_ms``; the volume ramps linearly across each block
towards its one-pole-smoothed target; a chroma change is cross-faded by the overlap-add itself.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import scipy.fft
import scipy.signal

PHASES = ("noise", "advance")
NOISE_FRAMES = 64  # stored white-noise phase frames, cycled


class SynthEngine:
    """``decoder`` maps (z (L,), chroma (12,)) to magnitudes (bins,), e.g. :class:`DecoderRuntime.decode`.
    Thread-safe setters (GUI / MIDI threads) and ``next_block()`` (the audio thread)."""

    def __init__(self, decoder, bottleneck: int, sample_rate: int, n_fft: int, hop_length: int,
                 phase: str = "noise", smoothing_ms: float = 40.0, volume: float = 0.5, seed: int = 0):
        if phase not in PHASES:
            raise ValueError(f"phase {phase!r}: use one of {', '.join(PHASES)}")
        if n_fft % hop_length:
            raise ValueError(f"n_fft={n_fft} must be a multiple of hop_length={hop_length} for the overlap-add")
        self.decoder, self.sample_rate, self.n_fft, self.hop = decoder, sample_rate, n_fft, hop_length
        self.phase_mode = phase
        self.bins = n_fft // 2 + 1
        self.window = scipy.signal.get_window("hann", n_fft, fftbins=True).astype(np.float32)
        # the summed squared window of the overlap-add (1.5 for Hann at 75% overlap), as an inverse STFT divides by
        self.norm = float(np.sum(self.window**2) / hop_length)
        # synthesis window with the overlap-add normalisation and the decoded frame's scale (a full-scale sine's
        # peak, n_fft / 4) folded in
        self.ramp = np.arange(hop_length, dtype=np.float32) / hop_length  # per-block volume ramp, 0 -> 1
        self.synthesis = (self.window * (n_fft / 4) / self.norm).astype(np.float32)
        rng = np.random.default_rng(seed)
        noise = rng.standard_normal(hop_length * (NOISE_FRAMES + 3) + n_fft).astype(np.float32)
        frames = np.lib.stride_tricks.sliding_window_view(noise, n_fft)[::hop_length][:NOISE_FRAMES]
        self.noise_phasors = np.exp(1j * np.angle(np.fft.rfft(frames * self.window, axis=-1))).astype(np.complex64)
        self.advance = np.exp(2j * np.pi * np.arange(self.bins) * hop_length / n_fft).astype(np.complex64)
        self.coeff = 1.0 - math.exp(-hop_length / (sample_rate * smoothing_ms / 1000)) if smoothing_ms > 0 else 1.0
        self._lock = threading.Lock()
        self.target_z = np.zeros(bottleneck, np.float32)
        self.z = self.target_z.copy()
        self.chroma = np.eye(12, dtype=np.float32)[0]
        self.target_volume = self.volume = float(volume)
        self.buffer = np.zeros(n_fft, np.float32)  # ring buffer of the overlap-add; hop-aligned start at head
        self.head = 0
        self.frame_index = 0
        self.phasor = self.noise_phasors[0].copy()
        self._decoded_for, self._magnitude = None, None

    def set_latent(self, z) -> None:
        with self._lock:
            self.target_z = np.asarray(z, np.float32).copy()

    def set_chroma(self, pitch_class: int) -> None:
        with self._lock:
            self.chroma = np.eye(12, dtype=np.float32)[int(pitch_class) % 12]

    def set_volume(self, volume: float) -> None:
        with self._lock:
            self.target_volume = float(np.clip(volume, 0.0, 1.0))

    def _phasor(self) -> np.ndarray:
        """exp(i phase) (bins,) complex64 of the current frame."""
        if self.phase_mode == "noise":
            return self.noise_phasors[self.frame_index % NOISE_FRAMES]
        self.phasor *= self.advance
        if self.frame_index % 256 == 0:  # keep |phasor| = 1 against rounding drift
            self.phasor /= np.abs(self.phasor)
        return self.phasor

    def _decode(self, chroma: np.ndarray) -> np.ndarray:
        """The decoded frame (bins,); reused while latent and chroma stay put."""
        key = (self.z.tobytes(), chroma.tobytes())
        if key != self._decoded_for:
            self._magnitude = np.asarray(self.decoder(self.z, chroma), np.float32)
            self._decoded_for = key
        return self._magnitude

    def next_block(self) -> np.ndarray:
        """The next ``hop_length`` output samples (float32, mono)."""
        with self._lock:
            step = self.target_z - self.z
            # snap once within 1e-4: a settled latent is decoded once and reused
            self.z = self.target_z.copy() if np.abs(step).max() < 1e-4 else self.z + self.coeff * step
            chroma, start = self.chroma, self.volume
            self.volume = start + self.coeff * (self.target_volume - start)
        frame = scipy.fft.irfft(self._decode(chroma) * self._phasor(), self.n_fft)
        frame *= self.synthesis
        # overlap-add into the ring buffer: its hop-sized slots are read out in order starting at ``head``
        h, n = self.head, self.n_fft
        self.buffer[h:] += frame[: n - h]
        self.buffer[:h] += frame[n - h :]
        out = self.buffer[h : h + self.hop] * (start + (self.volume - start) * self.ramp)
        self.buffer[h : h + self.hop] = 0.0
        self.head = (h + self.hop) % n
        self.frame_index += 1
        return out

    def render(self, blocks: int) -> np.ndarray:
        return np.concatenate([self.next_block() for _ in range(blocks)])
