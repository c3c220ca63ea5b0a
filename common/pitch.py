"""Pitch of an output, measured with pYIN (librosa's, computed faster by :mod:`common.pyin`; a tracker no model of
the project learns from), and how it compares with a reference contour: mir_eval's melody measures on the frames
both call voiced, voicing kept apart.

Contours are ``(times, f0)``: seconds and Hz, 0 where unvoiced.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import mir_eval
import numpy as np

from common.pyin import pyin

RESOLUTION = 0.2  # semitones per pYIN pitch state (librosa's 0.1 costs four times the Viterbi time; the contours
# agree within a few cents on the project's test melodies)


def track_pitch(audio: np.ndarray, sample_rate: int, fmin: float = 50.0, fmax: float = 1600.0,
                hop_seconds: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """pYIN contour of mono ``audio``: (frame centre times in s, f0 in Hz with 0 where unvoiced).
    Frames are 64 ms (at least 4 periods of ``fmin``), every ``hop_seconds``."""
    fmax = min(fmax, sample_rate / 2 - 1)
    frame = 1 << int(np.ceil(np.log2(max(0.064 * sample_rate, 4 * sample_rate / fmin))))
    hop = max(1, round(hop_seconds * sample_rate))
    audio = np.asarray(audio, dtype=np.float64)
    if len(audio) < frame:
        audio = np.pad(audio, (0, frame - len(audio)))
    f0, voiced = pyin(audio, fmin, fmax, sample_rate, frame, hop, RESOLUTION)
    f0 = np.where(voiced & np.isfinite(f0), f0, 0.0)
    return np.arange(len(f0)) * hop / sample_rate, f0


def cents(f_est: np.ndarray, f_ref: np.ndarray) -> np.ndarray:
    """1200 log2(f_est / f_ref) for positive pairs."""
    return 1200.0 * np.log2(np.asarray(f_est, dtype=np.float64) / np.asarray(f_ref, dtype=np.float64))


@dataclass(frozen=True)
class PitchAgreement:
    """How an estimated contour follows a reference one.

    ``accuracy``: fraction of the frames voiced in both whose pitch is within ``tolerance`` cents (mir_eval's raw
    pitch accuracy restricted to those frames); ``median_cents``: median absolute error there; ``both``: how
    many frames that is; ``voiced_ratio``: voiced frames of the estimate / of the reference; ``recall`` and
    ``false_alarm``: mir_eval's voicing recall and false-alarm rate."""

    accuracy: float
    median_cents: float
    both: int
    voiced_ratio: float
    recall: float
    false_alarm: float


def agreement(ref: tuple[np.ndarray, np.ndarray], est: tuple[np.ndarray, np.ndarray],
              tolerance: float = 50.0) -> PitchAgreement:
    """Compare ``est`` with ``ref`` (each ``(times, f0)``) on the reference's time grid."""
    ref_v, ref_c, est_v, est_c = mir_eval.melody.to_cent_voicing(
        *(np.asarray(a, dtype=np.float64) for a in (ref[0], ref[1], est[0], est[1])))
    both = (ref_v > 0) & (est_v > 0)
    err = np.abs(est_c[both] - ref_c[both])
    n_ref, n_est = float((ref_v > 0).sum()), float((est_v > 0).sum())
    recall, false_alarm = mir_eval.melody.voicing_measures(ref_v, est_v)
    return PitchAgreement(
        accuracy=float((err <= tolerance).mean()) if both.any() else 0.0,
        median_cents=float(np.median(err)) if both.any() else float("nan"),
        both=int(both.sum()), voiced_ratio=n_est / n_ref if n_ref else float("nan"),
        recall=float(recall), false_alarm=float(false_alarm))


def note_errors(ref: tuple[np.ndarray, np.ndarray], est: tuple[np.ndarray, np.ndarray],
                notes: list[tuple[float, float, float]], trim: float = 0.05) -> list[float]:
    """Per note ``(onset s, offset s, MIDI pitch)``: the median pitch of ``est`` over the note (``trim`` s cut
    from each end) minus the note's pitch, in cents; NaN where ``est`` is unvoiced throughout the note."""
    times, f0 = (np.asarray(a, dtype=np.float64) for a in est)
    out = []
    for onset, offset, midi in notes:
        inside = (times >= onset + trim) & (times <= offset - trim) & (f0 > 0)
        out.append(float(np.median(cents(f0[inside], librosa.midi_to_hz(midi)))) if inside.any() else float("nan"))
    return out


def spectral_flatness(audio: np.ndarray, sample_rate: int, top_db: float = 40.0, n_fft: int = 1024) -> float:
    """Median spectral flatness (geometric / arithmetic mean of the power spectrum) over the frames within
    ``top_db`` of the loudest: near 0 for harmonic tones, near 1 for white noise."""
    audio = np.asarray(audio, dtype=np.float32)
    flatness = librosa.feature.spectral_flatness(y=audio, n_fft=n_fft, hop_length=n_fft // 4)[0]
    rms = librosa.feature.rms(y=audio, frame_length=n_fft, hop_length=n_fft // 4)[0]
    loud = rms >= rms.max() * 10 ** (-top_db / 20) if rms.max() > 0 else np.zeros_like(rms, dtype=bool)
    return float(np.median(flatness[loud])) if loud.any() else float("nan")
