"""The scores of Table 1 for one output: LSD over 100 Hz-3.5 kHz as the reference code computes it (mean over
frames of the root of the summed squared differences of log(0.1 + |S|)), raw chroma accuracy of pYIN on the
Griffin-Lim audio against the sung contour, the frame phone error of a phone recogniser, and two speaker measures
(the frame-by-frame cepstral distortion to the sung target; which singer's training singing has the nearest mean
spectral envelope); and the degenerate constant-pitch baseline of the RCA claim."""

from __future__ import annotations

import numpy as np
import torch
from omegaconf import DictConfig

from common.metrics import log_spectral_distance, raw_chroma_accuracy
from speech2sing import data
from speech2sing import features as fx
from speech2sing.models import PhoneRecognizer


def lsd_bins(sample_rate: int, n_fft: int, low_hz: float = 100.0, high_hz: float = 3500.0) -> slice:
    """STFT bins from ``low_hz`` to ``high_hz`` inclusive (7..224 at 16 kHz, n_fft 1024)."""
    step = sample_rate / n_fft
    return slice(int(np.ceil(low_hz / step)), int(np.floor(high_hz / step)) + 1)


def frame_cepstra(log_mag: np.ndarray, coefficients: int = 24, top_db: float = 30.0
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Per frame of a log(1 + |S|) spectrogram ``(F, T)``: cepstral coefficients 1..``coefficients`` of its dB
    spectrum (quefrencies under 1.5 ms at 16 kHz, below every pitch period: the envelope, not the pitch)
    ``(coefficients, T)``, and which frames are within ``top_db`` of the loudest ``(T,)``."""
    magnitude = np.expm1(np.asarray(log_mag, dtype=np.float64)).clip(min=0)
    db = 20 * np.log10(magnitude + 1e-3)
    energy = 10 * np.log10(np.square(magnitude).sum(0) + 1e-12)
    return np.fft.irfft(db, axis=0)[1: coefficients + 1], energy >= energy.max() - top_db


def envelope(log_mag: np.ndarray, coefficients: int = 24, top_db: float = 30.0) -> np.ndarray:
    """Mean spectral envelope: the :func:`frame_cepstra` averaged over the loud frames (pitch-blind)."""
    cepstra, loud = frame_cepstra(log_mag, coefficients, top_db)
    return cepstra[:, loud].mean(1)


def cepstral_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray | float:
    """Mel-cepstral-distortion-style distance (dB) of cepstra along axis 0: ``(C,)`` pairs give a float, ``(C, T)``
    pairs one distance per frame."""
    d = np.sqrt(2 * np.sum(np.square(a - b), axis=0))
    return float(d) if np.ndim(d) == 0 else d


def cepstral_distortion(output: np.ndarray, target: np.ndarray) -> float:
    """Frame-by-frame cepstral distortion (dB) of an output to its sung target (the same frames), averaged over the
    target's loud frames: the speaker measure. Unlike a distance of mean envelopes, an output that regresses to
    an average spectrum pays for every frame it misses."""
    out, _ = frame_cepstra(output)
    ref, loud = frame_cepstra(target)
    return float(cepstral_distance(out, ref)[loud].mean())


@torch.no_grad()
def recognised_phones(recogniser: PhoneRecognizer, log_mag: np.ndarray) -> np.ndarray:
    """The recogniser's phone class per frame (T,) of a log-magnitude (F, T)."""
    return recogniser(torch.from_numpy(np.ascontiguousarray(log_mag))[None])[0].argmax(0).numpy()


def score(log_mag: np.ndarray, sample: data.Sample, cfg: DictConfig, recogniser: PhoneRecognizer,
          singers: dict[str, np.ndarray], head_phones: np.ndarray | None = None) -> tuple[dict, np.ndarray]:
    """Metrics of one output and its Griffin-Lim audio against the sung target: ``singers`` holds each
    singer's :func:`envelope` over its training singing, ``head_phones`` the P-MTL phoneme head's classes
    (scored as ``head_phone_error``)."""
    d, c = cfg.data, cfg.convert
    hop, sr, pitch_hop = d.hop_length, d.sample_rate, cfg.eval.pitch_hop
    audio = fx.synthesize(log_mag, hop, c.exponent, cfg.eval.griffinlim_iters)
    lsd = log_spectral_distance(np.expm1(sample.Y), np.expm1(log_mag), "reference", bins=lsd_bins(sr, d.n_fft))
    f0 = fx.pyin_contour(audio, sr, pitch_hop, c.fmin, c.fmax)
    times = np.arange(len(sample.f0)) * hop / sr
    rca = raw_chroma_accuracy(times, sample.f0, np.arange(len(f0)) * pitch_hop / sr, f0)
    mine = envelope(log_mag)
    distances = {singer: cepstral_distance(mine, ref) for singer, ref in singers.items()}
    known = sample.singer in distances  # a singer without training singing has no reference: NaN
    metrics = {"lsd": lsd, "rca": rca, "speaker_distance": cepstral_distortion(log_mag, sample.Y),
               "speaker_nearest": float(min(distances, key=distances.get) == sample.singer) if known else float("nan"),
               "phone_error": float(np.mean(recognised_phones(recogniser, log_mag) != sample.phones))}
    if head_phones is not None:
        metrics["head_phone_error"] = float(np.mean(head_phones != sample.phones))
    return metrics, audio


def singer_envelopes(cfg: DictConfig) -> dict[str, np.ndarray]:
    """Each singer's :func:`envelope` over (up to 200 of) its training samples' singing."""
    by_singer: dict[str, list] = {}
    for sample in data.samples(cfg)["train"]:
        by_singer.setdefault(sample.singer, []).append(sample.Y)
    return {singer: np.mean([envelope(Y) for Y in Ys[:200]], axis=0) for singer, Ys in by_singer.items()}


def constant_pitch_rca(f0: np.ndarray, tolerance: float = 50.0) -> float:
    """RCA of the best single pitch class sung with the contour's voicing (a degenerate output that ignores
    the melody's movement): the largest fraction of voiced frames within ``tolerance`` cents of one chroma."""
    voiced = np.asarray(f0)[np.asarray(f0) > 0]
    if len(voiced) == 0:
        return 0.0
    chroma = (1200 * np.log2(voiced / 440.0)) % 1200
    grid = np.arange(0, 1200, 5.0)
    off = np.abs((chroma[None, :] - grid[:, None] + 600) % 1200 - 600)
    return float((off <= tolerance).mean(1).max())
