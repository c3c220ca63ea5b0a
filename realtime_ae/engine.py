"""The synthesis engine: (latent, chroma, volume) -> audio, one hop (1024 samples, 23.2 ms) per call.

Each block takes one 2049-bin magnitude frame, gives it a phase, inverts it (irfft, Hann synthesis window)
and overlap-adds it at 75% overlap, exactly like an inverse STFT. Phase is white-noise STFT phase (``"noise"``,
as in the paper): frame k takes the product of row k mod 31 and row k mod 37 of two stored tables of random
phases, so a held note repeats exactly only after 31 x 37 frames (26.6 s at 44.1 kHz) where one table of 64 rows
repeated every 1.5 s; or the first frame's noise phase advanced by each bin's centre frequency per hop
(``"advance"``: coherent partials at bin centres). Smoothing: the latent follows its target with a one-pole filter
of ``smoothing_ms``; the volume ramps linearly across each block towards its one-pole-smoothed target; a chroma
change is cross-faded by the overlap-add itself.

Limiter: a decoded frame is peak-normalised, so a rich spectrum at volume 0.5 can sum to twice full scale. A block
whose peak would pass ``CEILING`` (-1 dBFS) lowers the limiter's gain to bring it there, ramped linearly across the
block from the last block's gain; the gain recovers towards 1 with a one-pole release of ``RELEASE_MS``. Samples
the ramp leaves above the ceiling (a level jump at the very start of a block) are saturated softly towards 0.99,
so no sample ever reaches full scale. A block below the ceiling at unit gain costs one peak measurement.

Decoding: the frames of ``frames_per_decode`` blocks are decoded in one call, on the smoothed latent path
towards the target read at the first of them (the one-pole filter is deterministic), so a slider move waits for
the next such call: up to ``frames_per_decode - 1`` blocks more latency, for one read of the decoder's weights per
``frames_per_decode`` blocks (what a decode costs). A chroma change re-decodes the rest of the batch at once.
Nothing is decoded while latent and chroma stay put. With a target that only changes at the decode calls the
output equals that of ``frames_per_decode=1``. All per-block buffers are preallocated.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import scipy.fft
import scipy.signal

PHASES = ("noise", "advance")
NOISE_TABLES = (31, 37)  # rows of the two random-phase tables whose product phases frame k (coprime lengths)
CEILING = 10 ** (-1 / 20)  # the limiter's ceiling, -1 dBFS
SATURATION = 0.99  # the soft saturation above the ceiling tends to this
RELEASE_MS = 200.0  # time constant of the limiter gain's recovery


class SynthEngine:
    """``decoder`` maps (z (N, L), chroma (N, 12)) to magnitudes (N, bins), e.g. :class:`DecoderRuntime.decode`.
    Thread-safe setters (GUI / MIDI threads) and ``next_block()`` (the audio thread)."""

    def __init__(self, decoder, bottleneck: int, sample_rate: int, n_fft: int, hop_length: int,
                 phase: str = "noise", smoothing_ms: float = 40.0, volume: float = 0.5, seed: int = 0,
                 frames_per_decode: int = 1):
        if phase not in PHASES:
            raise ValueError(f"phase {phase!r}: use one of {', '.join(PHASES)}")
        if n_fft % hop_length:
            raise ValueError(f"n_fft={n_fft} must be a multiple of hop_length={hop_length} for the overlap-add")
        if int(frames_per_decode) != frames_per_decode or frames_per_decode < 1:
            raise ValueError(f"frames_per_decode={frames_per_decode}: a whole number of blocks, at least 1")
        self.decoder, self.sample_rate, self.n_fft, self.hop = decoder, sample_rate, n_fft, hop_length
        self.phase_mode, self.frames_per_decode = phase, frames_per_decode
        self.bins = n_fft // 2 + 1
        self.window = scipy.signal.get_window("hann", n_fft, fftbins=True).astype(np.float32)
        # the summed squared window of the overlap-add (1.5 for Hann at 75% overlap), as an inverse STFT divides by
        self.norm = float(np.sum(self.window**2) / hop_length)
        # synthesis window with the overlap-add normalisation and the decoded frame's scale (a full-scale sine's
        # peak, n_fft / 4) folded in
        self.ramp = np.arange(hop_length, dtype=np.float32) / hop_length  # per-block volume ramp, 0 -> 1
        self.synthesis = (self.window * (n_fft / 4) / self.norm).astype(np.float32)
        rng = np.random.default_rng(seed)
        self.noise_tables = [np.exp(2j * np.pi * rng.random((rows, self.bins))).astype(np.complex64)
                             for rows in NOISE_TABLES]
        self.advance = np.exp(2j * np.pi * np.arange(self.bins) * hop_length / n_fft).astype(np.complex64)
        self.coeff = 1.0 - math.exp(-hop_length / (sample_rate * smoothing_ms / 1000)) if smoothing_ms > 0 else 1.0
        self.release = 1.0 - math.exp(-hop_length / (sample_rate * RELEASE_MS / 1000))
        self.limiter_gain = 1.0
        self._lock = threading.Lock()
        self.target_z = np.zeros(bottleneck, np.float32)
        self.z = self.target_z.copy()
        self.pitch_class = 0
        self.target_volume = self.volume = float(volume)
        self.buffer = np.zeros(n_fft, np.float32)  # ring buffer of the overlap-add; hop-aligned start at head
        self.head = 0
        self.frame_index = 0
        self.phasor = self.noise_phasor(0)
        # the current batch: latents (K, L) and chroma rows (K, 12) of the next K blocks, their decoded frames
        self._z_batch = np.zeros((frames_per_decode, bottleneck), np.float32)
        self._chroma_batch = np.zeros((frames_per_decode, 12), np.float32)
        self._frames = None  # (K, bins) decoded, or the last frame broadcast to (K, bins) while settled
        self._batch_class = -1  # the pitch class _frames were decoded with
        self._next = frames_per_decode  # index of the next block's frame in the batch; K: batch used up
        self._spectrum = np.empty(self.bins, np.complex64)
        self._gain = np.empty(hop_length, np.float32)
        self._limit = np.empty(hop_length, np.float32)

    def set_latent(self, z) -> None:
        with self._lock:
            self.target_z = np.asarray(z, np.float32).copy()

    def set_chroma(self, pitch_class: int) -> None:
        with self._lock:
            self.pitch_class = int(pitch_class) % 12

    def set_volume(self, volume: float) -> None:
        with self._lock:
            self.target_volume = float(np.clip(volume, 0.0, 1.0))

    def noise_phasor(self, k: int) -> np.ndarray:
        """exp(i phase) (bins,) complex64 of noise frame ``k``: a fresh array."""
        (a, b), (rows_a, rows_b) = self.noise_tables, NOISE_TABLES
        return a[k % rows_a] * b[k % rows_b]

    def _phase(self, frame: np.ndarray) -> None:
        """``_spectrum`` = ``frame`` (bins,) times exp(i phase) of the current frame."""
        if self.phase_mode == "noise":
            (a, b), (rows_a, rows_b) = self.noise_tables, NOISE_TABLES
            np.multiply(frame, a[self.frame_index % rows_a], out=self._spectrum)
            self._spectrum *= b[self.frame_index % rows_b]
            return
        self.phasor *= self.advance
        if self.frame_index % 256 == 0:  # keep |phasor| = 1 against rounding drift
            self.phasor /= np.abs(self.phasor)
        np.multiply(frame, self.phasor, out=self._spectrum)

    def _smooth(self, target: np.ndarray) -> None:
        """One block of the latent's one-pole filter, in place; snaps once within 1e-4 so a settled latent is
        decoded once and reused."""
        step = target - self.z
        if np.abs(step).max() < 1e-4:
            self.z[:] = target
        else:
            step *= self.coeff
            self.z += step

    def _frame(self, target: np.ndarray, pitch_class: int) -> np.ndarray:
        """This block's magnitude frame (bins,): from the current batch, or from a new one decoded on the next
        ``frames_per_decode`` smoothed latents towards ``target``."""
        k = self.frames_per_decode
        if self._next == k:  # start a batch
            previous = self._z_batch[-1].copy() if self._frames is not None else None
            for i in range(k):
                self._smooth(target)
                self._z_batch[i] = self.z
            settled = previous is not None and (self._z_batch == previous).all() and pitch_class == self._batch_class
            if settled:
                self._frames = np.broadcast_to(self._frames[-1], self._frames.shape)
            else:
                self._decode(0, pitch_class)
            self._next = 0
        elif pitch_class != self._batch_class:  # a note change: the rest of the batch at once
            self._decode(self._next, pitch_class)
        self._next += 1
        return self._frames[self._next - 1]

    def _decode(self, start: int, pitch_class: int) -> None:
        """Decode batch rows ``start:`` with ``pitch_class`` into ``_frames``."""
        self._chroma_batch[start:] = 0.0
        self._chroma_batch[start:, pitch_class] = 1.0
        decoded = np.asarray(self.decoder(self._z_batch[start:], self._chroma_batch[start:]), np.float32)
        if start == 0:
            self._frames = decoded
        else:
            self._frames = self._frames.copy() if not self._frames.flags.writeable else self._frames
            self._frames[start:] = decoded
        self._batch_class = pitch_class

    def next_block(self, out: np.ndarray | None = None) -> np.ndarray:
        """The next ``hop_length`` output samples (float32, mono), written into ``out`` if given."""
        with self._lock:
            target, pitch_class, start = self.target_z, self.pitch_class, self.volume
            self.volume = start + self.coeff * (self.target_volume - start)
        self._phase(self._frame(target, pitch_class))
        frame = scipy.fft.irfft(self._spectrum, self.n_fft)
        frame *= self.synthesis
        # overlap-add into the ring buffer: its hop-sized slots are read out in order starting at ``head``
        h, n = self.head, self.n_fft
        self.buffer[h:] += frame[: n - h]
        self.buffer[:h] += frame[n - h :]
        np.multiply(self.ramp, self.volume - start, out=self._gain)  # volume ramp start -> self.volume
        self._gain += start
        out = np.multiply(self.buffer[h : h + self.hop], self._gain, out=out)
        self._limit_block(out)
        self.buffer[h : h + self.hop] = 0.0
        self.head = (h + self.hop) % n
        self.frame_index += 1
        return out

    def _limit_block(self, out: np.ndarray) -> None:
        """The limiter, in place on one output block (see the module docstring)."""
        peak = max(float(out.max()), -float(out.min()))
        start = self.limiter_gain
        end = start + self.release * (1.0 - start) if start < 1.0 - 1e-4 else 1.0  # snaps back to unit gain
        if peak * end > CEILING:
            end = CEILING / peak
        self.limiter_gain = end
        if start == end == 1.0:
            return
        np.multiply(self.ramp, end - start, out=self._limit)
        self._limit += start
        out *= self._limit
        over = np.abs(out) > CEILING
        if over.any():
            x = np.abs(out[over])
            out[over] = np.sign(out[over]) * (CEILING + (SATURATION - CEILING) * np.tanh((x - CEILING) /
                                                                                      (SATURATION - CEILING)))

    def render(self, blocks: int) -> np.ndarray:
        out = np.empty(blocks * self.hop, np.float32)
        for b in range(blocks):
            self.next_block(out[b * self.hop : (b + 1) * self.hop])
        return out
