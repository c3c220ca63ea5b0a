"""The automatic lineup (the paper's Figure 2): which clip of a set is the real source?

A set holds a test segment of one training domain passed through its own autoencoder and its translations by
every other decoder (one clip per decoder). A logistic-regression domain classifier on log-mel statistics,
trained on real training audio, scores each clip by ``log p(its decoder's domain | clip)``. That score is not
comparable across decoders (one decoder's outputs may all look more like their domain than another's), so the
picker is calibrated per decoder on sets of validation segments: for decoder j, Gaussians of the score of its
reconstructions and of its translations, and a clip's evidence of being the source is their log-likelihood
ratio. The picker takes the clip with the largest ratio.

The control asks the same picker, calibrated the same way, to find the real audio itself (not its
reconstruction) among the translations. A picker that fails the control cannot tell anything apart, and its
lineup result is not evidence either way.
"""

from __future__ import annotations

import librosa
import numpy as np
import torch
import torch.nn.functional as F


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
    def log_probabilities(self, features: np.ndarray) -> np.ndarray:
        x = torch.tensor((features - self.mean) / self.std, dtype=torch.float32)
        return self.linear(x).log_softmax(-1).numpy()


def own_domain_scores(classifier: DomainClassifier, clips: list[np.ndarray], decoders: list[int],
                      sample_rate: int) -> np.ndarray:
    """``log p(decoder's domain | clip)`` of each clip (n,), clip i decoded by ``decoders[i]``."""
    logp = classifier.log_probabilities(np.array([log_mel_stats(c, sample_rate) for c in clips]))
    return logp[np.arange(len(clips)), decoders]


def _gaussian(values: np.ndarray) -> tuple[float, float]:
    values = np.asarray(values, dtype=np.float64)
    return float(values.mean()), float(max(values.std(), 0.05))


def calibrate(sources: np.ndarray, translations: np.ndarray, decoder_of_source: np.ndarray,
              decoder_of_translation: np.ndarray, k: int) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Per decoder: (Gaussian of the scores of its source clips, Gaussian of its translations' scores)."""
    return [(_gaussian(sources[decoder_of_source == j]), _gaussian(translations[decoder_of_translation == j]))
            for j in range(k)]


def _log_normal(x: float, mean: float, std: float) -> float:
    return -0.5 * ((x - mean) / std) ** 2 - np.log(std)


def pick(scores: np.ndarray, calibration: list) -> int:
    """A set's clip scores (k,), clip j from decoder j -> the clip with the largest calibrated likelihood ratio
    (source vs translation)."""
    ratios = [_log_normal(s, *src) - _log_normal(s, *tr) for s, (src, tr) in zip(scores, calibration)]
    return int(np.argmax(ratios))
