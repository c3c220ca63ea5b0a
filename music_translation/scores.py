"""Automatic scores of the evaluation: pitch contours and their correlations (Table 2), a domain classifier
for the automatic lineup (Figure 2), and embedding cosine similarities (Figure 3)."""

from __future__ import annotations

import librosa
import numpy as np
import torch
import torch.nn.functional as F

FMIN, FMAX = 110.0, 1000.0  # Hz: the tone corpus spans MIDI 55-79 (196-784 Hz)


RESOLUTION = 0.2  # semitones per pYIN pitch state (librosa's default 0.1): on the tone corpus's 5 s test
# melodies the contours agree with the rendered notes as often (95-97% of voiced frames within half a semitone),
# and the Viterbi decoding, which dominates pYIN's cost, runs on a quarter of the transitions


def frame_length(sample_rate: int) -> int:
    """pYIN frame in samples (its hop is a quarter of it)."""
    return 1024 if sample_rate > 8000 else 512


def pitch_contour(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, float]:
    """librosa's pYIN -> (contour in MIDI numbers with 0 where unvoiced, voiced fraction)."""
    f0, voiced, _ = librosa.pyin(audio.astype(np.float64), fmin=FMIN, fmax=min(FMAX, sample_rate / 2 - 1),
                                 sr=sample_rate, frame_length=frame_length(sample_rate), resolution=RESOLUTION)
    contour = np.where(voiced & np.isfinite(f0), librosa.hz_to_midi(np.nan_to_num(f0, nan=FMIN)), 0.0)
    return contour, float(voiced.mean())


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denom) if denom > 0 else 0.0


def ncc_best_shift(a: np.ndarray, b: np.ndarray, max_shift: int) -> float:
    """Normalised (zero-mean) cross-correlation of two contours at the best shift within +-max_shift frames."""
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    return max(_corr(a[max(0, s):n + min(0, s)], b[max(0, -s):n - max(0, s)]) for s in range(-max_shift,
                                                                                             max_shift + 1))


def dtw_corr(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two contours after aligning them by DTW (absolute-difference cost)."""
    _, path = librosa.sequence.dtw(a[None], b[None], metric="cityblock")
    return _corr(a[path[:, 0]], b[path[:, 1]])


def log_mel_stats(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Classifier features of a segment: mean and std over time of its 40-band log-mel spectrum (80,)."""
    mel = librosa.feature.melspectrogram(y=audio.astype(np.float32), sr=sample_rate, n_fft=512, hop_length=128,
                                         n_mels=40)
    logmel = np.log(mel + 1e-6)
    return np.concatenate([logmel.mean(1), logmel.std(1)])


class DomainClassifier:
    """Logistic regression on standardised ``log_mel_stats``, trained with Adam for ``steps`` steps."""

    def __init__(self, features: np.ndarray, labels: np.ndarray, n_domains: int, steps: int, seed: int = 0):
        self.mean, self.std = features.mean(0), features.std(0) + 1e-6
        x = torch.tensor((features - self.mean) / self.std, dtype=torch.float32)
        y = torch.tensor(labels)
        torch.manual_seed(seed)
        self.linear = torch.nn.Linear(x.shape[1], n_domains)
        opt = torch.optim.Adam(self.linear.parameters(), lr=0.05)
        for _ in range(steps):
            opt.zero_grad()
            F.cross_entropy(self.linear(x), y).backward()
            opt.step()

    @torch.no_grad()
    def probabilities(self, features: np.ndarray) -> np.ndarray:
        x = torch.tensor((features - self.mean) / self.std, dtype=torch.float32)
        return self.linear(x).softmax(-1).numpy()


def lineup_pick(probabilities: np.ndarray) -> int:
    """A lineup set of k clips, clip j decoded by decoder j, with ``probabilities[j]`` the classifier's
    output for clip j: the picked source is the clip most confidently of its own decoder's domain."""
    return int(np.argmax(np.diag(probabilities)))


def cosine_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarities of the rows of ``a`` (n, d) and ``b`` (m, d) -> (n, m)."""
    a = a / (np.linalg.norm(a, axis=1, keepdims=True) + 1e-12)
    b = b / (np.linalg.norm(b, axis=1, keepdims=True) + 1e-12)
    return a @ b.T


def pitch_similarity(cross: np.ndarray) -> dict:
    """Summary of a cross-instrument cosine matrix (pitch i of one instrument vs pitch j of the other):
    diagonal mean, off-diagonal mean, and per pitch the same-pitch similarity minus the mean over the others."""
    n = len(cross)
    off = cross[~np.eye(n, dtype=bool)]
    return {"diagonal_mean": float(np.diag(cross).mean()), "off_diagonal_mean": float(off.mean()) if off.size else None,
            "diagonal": np.diag(cross).tolist(),
            "margins": (np.diag(cross) - (cross.sum(1) - np.diag(cross)) / max(1, n - 1)).tolist()}
