"""Table 2's pitch scores: pYIN contours (``common.pitch``) of an input and of its translation, compared on the
frames voiced in both (the paper's NCC at the best shift and correlation after DTW, and mir_eval's raw pitch
accuracy), with the voicing (recall, false alarm, voiced ratio) reported apart. Chance pairs the input with an
unrelated target-domain segment seen through the output's voicing, so it scores the same frames.

A contour is ``(times s, f0 Hz)`` with 0 where unvoiced; :func:`midi` turns f0 into MIDI numbers (0 unvoiced).
"""

from __future__ import annotations

import librosa
import numpy as np

from common.pitch import agreement, track_pitch

FMIN, FMAX = 80.0, 1200.0  # Hz: an octave around the tone corpus's MIDI 55-79 (196-784 Hz)
HOP_SECONDS = 0.016
MIN_FRAMES = 10  # frames voiced in both below which a correlation is not taken (0.16 s)
MEASURES = ("ncc", "dtw", "rpa", "voiced_ratio", "recall", "false_alarm")  # per translation
CHANCE_MEASURES = ("ncc", "dtw", "rpa")


def contour(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """pYIN contour of ``audio``: (frame times s, f0 Hz, 0 where unvoiced), one frame per ``HOP_SECONDS``."""
    return track_pitch(audio, sample_rate, fmin=FMIN, fmax=FMAX, hop_seconds=HOP_SECONDS)


def midi(f0: np.ndarray) -> np.ndarray:
    """f0 in Hz -> MIDI numbers, 0 where unvoiced (f0 <= 0)."""
    f0 = np.asarray(f0, dtype=np.float64)
    return np.where(f0 > 0, librosa.hz_to_midi(np.maximum(f0, 1e-6)), 0.0)


def frames_of(seconds: float) -> int:
    return int(round(seconds / HOP_SECONDS))


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denom) if denom > 1e-9 else 0.0


def ncc_voiced(a: np.ndarray, b: np.ndarray, max_shift: int, min_frames: int = MIN_FRAMES) -> float:
    """Zero-mean normalised cross-correlation of MIDI contours ``a`` and ``b`` (0 = unvoiced) on the frames voiced
    in both, at the best shift within +-``max_shift`` frames; 0 when no shift has ``min_frames`` such frames (a
    constant contour correlates 0)."""
    n, best = min(len(a), len(b)), None
    a, b = a[:n], b[:n]
    for s in range(-max_shift, max_shift + 1):
        x, y = a[max(0, s):n + min(0, s)], b[max(0, -s):n - max(0, s)]
        both = (x > 0) & (y > 0)
        if both.sum() >= min_frames:
            c = _corr(x[both], y[both])
            best = c if best is None else max(best, c)
    return 0.0 if best is None else best


def dtw_voiced(a: np.ndarray, b: np.ndarray, min_frames: int = MIN_FRAMES) -> float:
    """Correlation of the voiced frames of ``a`` and of ``b`` after aligning them by DTW (absolute-difference
    cost); 0 when either has fewer than ``min_frames`` voiced frames."""
    a, b = a[a > 0], b[b > 0]
    if min(len(a), len(b)) < min_frames:
        return 0.0
    _, path = librosa.sequence.dtw(a[None], b[None], metric="cityblock")
    return _corr(a[path[:, 0]], b[path[:, 1]])


def pitch_scores(ref: tuple[np.ndarray, np.ndarray], out: tuple[np.ndarray, np.ndarray], max_shift: int) -> list:
    """An input's contour vs its translation's -> ``MEASURES``: NCC and DTW correlation on frames voiced in both,
    raw pitch accuracy there (within 50 cents), voiced frames of the output / of the input, voicing recall and
    false-alarm rate."""
    a, b = midi(ref[1]), midi(out[1])
    agree = agreement(ref, out)
    return [ncc_voiced(a, b, max_shift), dtw_voiced(a, b), agree.accuracy, agree.voiced_ratio, agree.recall,
            agree.false_alarm]


def seen_through(partner: tuple[np.ndarray, np.ndarray], voicing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``partner``'s contour with the voicing of another output (``voicing`` (frames,) bool): unvoiced wherever
    that output is."""
    n = min(len(partner[1]), len(voicing))
    f0 = np.zeros(len(voicing))
    f0[:n] = np.where(voicing[:n], partner[1][:n], 0.0)
    return np.arange(len(voicing)) * HOP_SECONDS, f0


def chance_scores(ref: tuple[np.ndarray, np.ndarray], out: tuple[np.ndarray, np.ndarray],
                  partners: list[tuple[np.ndarray, np.ndarray]], max_shift: int) -> list:
    """``CHANCE_MEASURES`` of ``ref`` against unrelated target-domain ``partners`` seen through the voicing of
    the translation ``out``, averaged over the partners: what a translation with this voicing but an unrelated
    melody scores."""
    voicing = out[1] > 0
    each = [pitch_scores(ref, seen_through(p, voicing), max_shift)[:3] for p in partners]
    return np.mean(each, axis=0).tolist()
