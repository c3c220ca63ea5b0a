"""Pre-processing of the paper's Section 2.1 on numpy arrays: silent-frame removal, phase-vocoder stretching
(uniform or per phone), log(1 + |S|), the binary pitch image, spectral pitch shift, phone classes, melody
contours from MIDI / CSV / sung audio, and the Griffin-Lim prediction step.

Spectrograms are ``(F, T)`` with F = n_fft / 2 + 1 bins; frame t is centred at ``t * hop / sr`` seconds.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch

from common.errors import InputError
from common.griffinlim import griffinlim
from common.pyin import pyin
from common.spectral import stft

# 39 CMU phones (ARPAbet, no stress), silence and inhalation: the 41 classes of the phoneme decoder
PHONES = ("aa", "ae", "ah", "ao", "aw", "ay", "b", "ch", "d", "dh", "eh", "er", "ey", "f", "g", "hh", "ih", "iy",
          "jh", "k", "l", "m", "n", "ng", "ow", "oy", "p", "r", "s", "sh", "t", "th", "uh", "uw", "v", "w", "y",
          "z", "zh", "sil", "br")
SILENCE = PHONES.index("sil")
SILENCE_LABELS = {"sil", "sp", "pau", "spn", ""}
INHALATION_LABELS = {"br", "inh", "breath"}
VOWELS = {"aa", "ae", "ah", "ao", "aw", "ay", "eh", "er", "ey", "ih", "iy", "ow", "oy", "uh", "uw"}


def phone_class(label: str) -> int:
    """ARPAbet label (any case, stress digits allowed) -> class index in ``PHONES``; silences -> ``sil``."""
    label = label.strip().lower().rstrip("012")
    if label in SILENCE_LABELS:
        return SILENCE
    if label in INHALATION_LABELS:
        return PHONES.index("br")
    if label not in PHONES:
        raise InputError(f"phone label {label!r} is not one of the 39 CMU phones, silence or inhalation")
    return PHONES.index(label)


def silent_blocks(audio: np.ndarray, hop: int, threshold_db: float = 40.0, min_run: int = 3) -> np.ndarray:
    """Boolean mask over the ``ceil(len / hop)`` blocks of ``hop`` samples: True where the block belongs to a
    run of at least ``min_run`` blocks whose energy is ``threshold_db`` or more below the loudest block's."""
    n = -(-len(audio) // hop)
    blocks = np.pad(audio, (0, n * hop - len(audio))).reshape(n, hop)
    energy = 10 * np.log10(np.square(blocks, dtype=np.float64).sum(1) + 1e-12)
    quiet = energy < energy.max() - threshold_db
    remove = np.zeros(n, dtype=bool)
    start = None
    for i, q in enumerate(np.append(quiet, False)):
        if q and start is None:
            start = i
        elif not q and start is not None:
            if i - start >= min_run:
                remove[start:i] = True
            start = None
    return remove


def remove_silence(audio: np.ndarray, hop: int, threshold_db: float = 40.0, min_run: int = 3) -> np.ndarray:
    """``audio`` without its silent runs (see :func:`silent_blocks`); frames are ``hop`` samples (16 ms)."""
    remove = silent_blocks(audio, hop, threshold_db, min_run)
    keep = np.repeat(~remove, hop)[: len(audio)]
    return audio[keep]


def complex_stft(audio: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Complex STFT ``(n_fft/2+1, 1 + len/hop)`` of mono ``audio`` (Hann window of n_fft, centred frames)."""
    return stft(torch.as_tensor(np.asarray(audio, dtype=np.float32)), n_fft=n_fft, hop_length=hop).numpy()


def _frame_pairs(T: int, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Left neighbour frame and fraction of each fractional frame position, clipped to [0, T - 1]."""
    positions = np.clip(np.asarray(positions, dtype=np.float64), 0, T - 1)
    left = np.floor(positions).astype(int)
    return left, (positions - left).astype(np.float32)


def stretched_magnitude(magnitude: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The phase vocoder's magnitude: ``magnitude (F, T)`` linearly interpolated between neighbouring frames
    at fractional frame ``positions`` -> ``(F, len(positions))`` (the phases do not change it)."""
    left, frac = _frame_pairs(magnitude.shape[1], positions)
    padded = np.concatenate([magnitude, np.zeros((magnitude.shape[0], 1), magnitude.dtype)], axis=1)
    return (1 - frac) * padded[:, left] + frac * padded[:, left + 1]


def phase_vocoder(D: np.ndarray, positions: np.ndarray, hop: int) -> np.ndarray:
    """Resample the STFT ``D (F, T)`` at fractional frame ``positions`` (ascending, within [0, T-1]):
    magnitudes interpolated between neighbouring frames, phases advanced by each step's instantaneous
    frequency (Laroche-Dolson style, as librosa's phase vocoder) -> ``(F, len(positions))``."""
    F, T = D.shape
    n_fft = 2 * (F - 1)
    left, _ = _frame_pairs(T, positions)
    magnitude = stretched_magnitude(np.abs(D), positions)
    angle = np.angle(np.concatenate([D, np.zeros((F, 1), D.dtype)], axis=1))
    advance = 2 * np.pi * hop * np.arange(F)[:, None] / n_fft
    dphase = angle[:, left + 1] - angle[:, left] - advance
    dphase = dphase - 2 * np.pi * np.round(dphase / (2 * np.pi)) + advance
    phase = angle[:, left[:1]] + np.concatenate([np.zeros((F, 1)), np.cumsum(dphase[:, :-1], axis=1)], 1)
    return (magnitude * np.exp(1j * phase)).astype(np.complex64)


def uniform_positions(n_source: int, n_target: int) -> np.ndarray:
    """Source frame positions of a uniform stretch of ``n_source`` frames to exactly ``n_target`` frames."""
    return np.linspace(0, n_source - 1, n_target)


def anchored_positions(anchors: np.ndarray, n_target: int, frame_s: float) -> np.ndarray:
    """Source frame positions of a piecewise-linear time map through ``anchors`` ``(K, 2)`` = (source s,
    target s) pairs, both ascending (PhSync: each phone's start and end in speech and in singing)."""
    target_s = np.arange(n_target) * frame_s
    return np.interp(target_s, anchors[:, 1], anchors[:, 0]) / frame_s


def log_magnitude(D: np.ndarray) -> np.ndarray:
    """``log(1 + |D|)`` as float32."""
    return np.log1p(np.abs(D)).astype(np.float32)


def f0_bins(f0: np.ndarray, n_bins: int, sample_rate: int) -> np.ndarray:
    """Nearest STFT bin of each frame's F0 (Hz), -1 where unvoiced (F0 <= 0 or NaN) or above the top bin."""
    position = f0_positions(f0, n_bins, sample_rate)
    bins = np.round(position).astype(int)
    return np.where((position > 0) & (bins < n_bins), bins, -1)


def f0_positions(f0: np.ndarray, n_bins: int, sample_rate: int) -> np.ndarray:
    """Fractional STFT bin of each frame's F0 (Hz): bin k is centred on k sr / (2 (n_bins - 1)) Hz; 0 where
    unvoiced (F0 <= 0 or NaN)."""
    f0 = np.nan_to_num(np.asarray(f0, dtype=np.float64), nan=0.0)
    return np.where(f0 > 0, f0 * 2 * (n_bins - 1) / sample_rate, 0.0)


PITCH_IMAGES = ("onehot", "linear", "harmonics")


def pitch_image(f0: np.ndarray, n_bins: int, sample_rate: int, kind: str = "onehot") -> np.ndarray:
    """Pitch image C ``(n_bins, T)`` of a per-frame F0 contour (Hz), an all-zero column where unvoiced.
    ``onehot`` (the paper): a 1 at the nearest bin. ``linear``: the 1 split between the two bins around the
    F0 in proportion to closeness (the F0 is kept to the cent, not to the 15.6 Hz bin). ``harmonics``: the
    ``linear`` split at every harmonic k F0 below the top bin."""
    if kind not in PITCH_IMAGES:
        raise ValueError(f"pitch image {kind!r} is not one of {PITCH_IMAGES}")
    position = f0_positions(f0, n_bins, sample_rate)
    image = np.zeros((n_bins, len(position)), dtype=np.float32)
    if kind == "onehot":
        bins = f0_bins(f0, n_bins, sample_rate)
        voiced = bins >= 0
        image[bins[voiced], np.flatnonzero(voiced)] = 1.0
        return image
    top = n_bins - 1
    lowest = position[position > 0].min() if (position > 0).any() else top
    harmonics = np.arange(1, int(top / lowest) + 1 if kind == "harmonics" else 2)
    multiples = position[None, :] * harmonics[:, None]
    frames = np.broadcast_to(np.arange(len(position)), multiples.shape)
    keep = (multiples > 0) & (multiples <= top)
    k, frames = multiples[keep], frames[keep]
    low = np.floor(k).astype(int)
    frac = (k - low).astype(np.float32)
    np.add.at(image, (low, frames), 1 - frac)
    np.add.at(image, (np.minimum(low + 1, top), frames), frac)
    return image


def pitch_shift_spectrogram(X: np.ndarray, semitones: float) -> np.ndarray:
    """Shift a magnitude or log-magnitude spectrogram ``(F, T)`` by ``semitones`` by resampling its frequency
    axis (bin k takes the value at k / 2^(s/12), linear interpolation, zero beyond the top)."""
    if semitones == 0:
        return X
    F = X.shape[0]
    source = np.arange(F) / 2 ** (semitones / 12)
    low = np.floor(source).astype(int)
    frac = (source - low)[:, None].astype(X.dtype)
    padded = np.concatenate([X, np.zeros((2, X.shape[1]), X.dtype)])
    low = np.minimum(low, F)
    return (1 - frac) * padded[low] + frac * padded[low + 1]


def contour_at_frames(times: np.ndarray, f0: np.ndarray, n_frames: int, frame_s: float, start_s: float = 0.0
                      ) -> np.ndarray:
    """F0 (Hz, 0 = unvoiced) at frame times ``start_s + t * frame_s`` from a track sampled at ``times``:
    the nearest sample, 0 outside the track."""
    times, f0 = np.asarray(times, dtype=np.float64), np.nan_to_num(np.asarray(f0, dtype=np.float64))
    at = start_s + np.arange(n_frames) * frame_s
    index = np.clip(np.searchsorted(times, at), 1, len(times) - 1)
    nearest = np.where(np.abs(times[index - 1] - at) <= np.abs(times[index] - at), index - 1, index)
    inside = (at >= times[0] - frame_s) & (at <= times[-1] + frame_s)
    return np.where(inside, f0[nearest], 0.0)


def midi_contour(path: str | Path, frame_s: float) -> np.ndarray:
    """Per-frame F0 (Hz) of a MIDI melody from its first onset to its last offset: the highest sounding note
    of all non-drum tracks, 0 in rests."""
    import pretty_midi

    try:
        midi = pretty_midi.PrettyMIDI(str(path))
    except Exception as err:
        raise InputError(f"{path}: not a readable MIDI file ({type(err).__name__})") from None
    notes = [n for inst in midi.instruments if not inst.is_drum for n in inst.notes]
    if not notes:
        raise InputError(f"{path}: the MIDI file has no notes; give a melody with at least one note")
    start = min(n.start for n in notes)
    n_frames = int(np.ceil((max(n.end for n in notes) - start) / frame_s))
    pitch = np.full(n_frames, -1.0)
    for note in notes:
        a, b = int(round((note.start - start) / frame_s)), int(round((note.end - start) / frame_s))
        pitch[a:b] = np.maximum(pitch[a:b], note.pitch)
    return np.where(pitch >= 0, 440.0 * 2 ** ((pitch - 69) / 12), 0.0)


def csv_contour(path: str | Path, frame_s: float) -> np.ndarray:
    """Per-frame F0 (Hz) of a ``time_s,hz`` CSV (header optional; 0 or empty = unvoiced), from its first row."""
    rows = []
    with open(path, newline="") as handle:
        for row in csv.reader(handle):
            try:
                rows.append((float(row[0]), float(row[1]) if len(row) > 1 and row[1].strip() else 0.0))
            except (ValueError, IndexError):
                if rows:
                    raise InputError(f"{path}: row {row} is not 'time_s,hz'") from None
    if len(rows) < 2:
        raise InputError(f"{path}: a melody CSV needs at least two 'time_s,hz' rows")
    times, f0 = np.array(rows).T
    n_frames = int(np.floor((times[-1] - times[0]) / frame_s)) + 1
    return contour_at_frames(times, f0, n_frames, frame_s, times[0])


def pyin_contour(audio: np.ndarray, sample_rate: int, hop: int, fmin: float = 65.0, fmax: float = 1000.0
                 ) -> np.ndarray:
    """pYIN F0 (Hz, 0 = unvoiced) per frame of ``hop`` samples (centred frames, 1 + len/hop of them); 64 ms
    frames and 0.2-semitone pitch states (six times faster than librosa's defaults, ample for 50-cent RCA)."""
    f0, voiced = pyin(np.asarray(audio, dtype=np.float32), fmin, fmax, sample_rate, int(0.064 * sample_rate), hop, 0.2)
    return np.where(voiced, np.nan_to_num(f0), 0.0)


def trim_unvoiced(f0: np.ndarray) -> np.ndarray:
    """``f0`` without its leading and trailing unvoiced frames."""
    voiced = np.flatnonzero(f0 > 0)
    return f0[voiced[0]: voiced[-1] + 1] if len(voiced) else f0[:0]


def synthesize(log_mag: np.ndarray | torch.Tensor, hop: int, exponent: float = 1.2, n_iter: int = 40) -> np.ndarray:
    """Waveform from a predicted log-magnitude ``(F, T)``: exp(x) - 1, magnitude ** ``exponent``, Griffin-Lim."""
    magnitude = torch.expm1(torch.as_tensor(log_mag, dtype=torch.float32)).clamp_min(0)
    generator = torch.Generator().manual_seed(0)
    audio = griffinlim(magnitude, power=1.0, exponent=exponent, hop_length=hop, n_iter=n_iter, generator=generator)
    return audio.numpy()
