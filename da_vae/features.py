"""Frame features of the paper, all ``(frames, dims)`` float32 on one centred frame grid: frame k is at
``k * hop`` seconds and a signal of n samples has ``1 + n // hop`` frames (as ``librosa.stft``).

- ``log_mel``: log(1 + mel power) of a 1024-point STFT (64 ms Hann window at 16 kHz, 20 ms hop);
- ``magnitude``: |STFT| (513 bins), the separation input and output;
- ``piano_roll``: 128 MIDI pitches, 1 where a note (or its sustain-pedal extension) sounds in the frame;
- baselines: ``audio_chroma`` (``librosa.feature.chroma_stft``), ``midi_chroma`` (pretty_midi ``get_chroma``)
  and ``mcep`` (24 mel-cepstral coefficients, SPTK ``sp2mc``, of WORLD's CheapTrick envelope).
"""

from __future__ import annotations

import functools
import io
import warnings
from pathlib import Path

import librosa
import numpy as np
import pretty_midi
import torch

from common import filterbanks, spectral
from common.errors import InputError


def hop_length(sample_rate: int, hop_ms: float) -> int:
    """Hop in samples (20 ms at 16 kHz -> 320)."""
    return round(sample_rate * hop_ms / 1000)


def frame_count(samples: int, hop: int) -> int:
    return 1 + samples // hop


def zscore(y: np.ndarray) -> np.ndarray:
    """The waveform minus its mean, divided by its standard deviation (silence stays silent)."""
    y = np.asarray(y, dtype=np.float32)
    return (y - y.mean()) / max(float(y.std()), 1e-8)


def log_mel(y: np.ndarray, sample_rate: int, n_fft: int, hop: int, n_mels: int) -> np.ndarray:
    """``log(1 + mel power)`` of mono ``y (samples,)`` -> ``(frames, n_mels)``."""
    mel = filterbanks.mel_spectrogram(torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32)), sample_rate,
                                   n_fft, hop, n_mels, power=2.0)
    return spectral.log_one_plus(mel).T.contiguous().numpy()


def log_mel_segments(audio: torch.Tensor, sample_rate: int, n_fft: int, hop: int, n_mels: int) -> torch.Tensor:
    """``log(1 + mel power)`` of audio segments ``(batch, (T - 1) hop + n_fft)`` without centring, on their device
    -> ``(batch, T, n_mels)``: the T frames of :func:`log_mel` a segment spans, when cut from the signal padded
    with ``n_fft // 2`` zeros on both sides (``da_vae.data.prepare_audio``)."""
    mel = filterbanks.mel_spectrogram(audio, sample_rate, n_fft, hop, n_mels, power=2.0, center=False)
    return spectral.log_one_plus(mel).transpose(-1, -2)


def magnitude(y: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """``|STFT|`` of mono ``y`` -> ``(frames, n_fft // 2 + 1)``."""
    S = spectral.spectrogram(torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32)), n_fft, hop, power=1.0)
    return S.T.contiguous().numpy()


def load_midi(path: str | Path) -> pretty_midi.PrettyMIDI:
    """Read a MIDI file that has at least one note; ``InputError`` naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: MIDI file not found; check the path")
    try:
        midi = pretty_midi.PrettyMIDI(io.BytesIO(path.read_bytes()))
    except Exception as err:  # pretty_midi/mido raise many exception types for a corrupt file
        raise InputError(f"{path}: cannot read MIDI ({str(err).splitlines()[0] if str(err) else type(err).__name__});"
                         " re-export it as a standard MIDI file") from None
    if not any(inst.notes for inst in midi.instruments if not inst.is_drum):
        raise InputError(f"{path}: MIDI has no pitched notes; nothing to align")
    return midi


def midi_frames(midi: pretty_midi.PrettyMIDI, hop_seconds: float) -> int:
    """Frames covering the MIDI up to its last event."""
    return 1 + int(midi.get_end_time() / hop_seconds)


def _frame_edges(n_frames: int, hop_seconds: float) -> np.ndarray:
    """``n_frames + 1`` times: frame k spans ``[(k - 1/2) hop, (k + 1/2) hop)``, clipped at 0."""
    return np.maximum(0.0, (np.arange(n_frames + 1) - 0.5) * hop_seconds)


def _pitched(midi: pretty_midi.PrettyMIDI) -> pretty_midi.PrettyMIDI:
    """A copy without drum tracks (they have no pitch)."""
    out = pretty_midi.PrettyMIDI(resolution=midi.resolution)
    out.instruments = [inst for inst in midi.instruments if not inst.is_drum]
    return out


def piano_roll(midi: pretty_midi.PrettyMIDI, n_frames: int, hop_seconds: float) -> np.ndarray:
    """Binary piano roll ``(n_frames, 128)``: 1 where the pitch sounds at any time in the frame."""
    roll = _pitched(midi).get_piano_roll(fs=1000, times=_frame_edges(n_frames, hop_seconds))
    roll = np.pad(roll, [(0, 0), (0, max(0, n_frames + 1 - roll.shape[1]))])[:, :n_frames]
    return (roll.T > 0).astype(np.float32)


def midi_chroma(midi: pretty_midi.PrettyMIDI, n_frames: int, hop_seconds: float) -> np.ndarray:
    """pretty_midi ``get_chroma`` on the frame grid, each frame divided by its maximum -> ``(n_frames, 12)``."""
    chroma = _pitched(midi).get_chroma(fs=1000, times=_frame_edges(n_frames, hop_seconds))
    chroma = np.pad(chroma, [(0, 0), (0, max(0, n_frames + 1 - chroma.shape[1]))])[:, :n_frames].T
    peak = chroma.max(axis=1, keepdims=True)
    return (chroma / np.where(peak > 0, peak, 1.0)).astype(np.float32)


def audio_chroma(y: np.ndarray, sample_rate: int, n_fft: int, hop: int) -> np.ndarray:
    """``librosa.feature.chroma_stft`` (its defaults: estimated tuning, max-normalised) -> ``(frames, 12)``."""
    return librosa.feature.chroma_stft(y=np.asarray(y, dtype=np.float32), sr=sample_rate, n_fft=n_fft,
                                       hop_length=hop).T.astype(np.float32)


@functools.lru_cache(maxsize=8)
def _freqt_matrix(length: int, order: int, alpha: float) -> np.ndarray:
    """``(length, order + 1)``: SPTK's frequency warping of a cepstrum (``freqt``), a linear map, as a matrix."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pysptk warns about pkg_resources on import
        import pysptk

    return np.stack([pysptk.freqt(row, order, alpha) for row in np.eye(length)])


def sp2mc(power: np.ndarray, order: int, alpha: float) -> np.ndarray:
    """Mel-cepstrum ``(frames, order + 1)`` of power spectra ``(frames, bins)``, equal to SPTK's ``sp2mc``
    (``pysptk.sp2mc``) frame by frame, as one matrix product instead of a Python call per frame."""
    cepstrum = np.fft.irfft(np.log(power), axis=-1)
    cepstrum[:, 0] /= 2.0
    return cepstrum @ _freqt_matrix(cepstrum.shape[1], order, float(alpha))


@functools.lru_cache(maxsize=4)
def all_pass_constant(sample_rate: int) -> float:
    """``pysptk.util.mcepalpha(sample_rate)`` (0.41 at 16 kHz), computed once per rate: it takes about 0.4 s."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pysptk warns about pkg_resources on import
        from pysptk.util import mcepalpha

    return float(mcepalpha(sample_rate))


def mcep(y: np.ndarray, sample_rate: int, hop_ms: float, order: int = 24, energy: bool = False) -> np.ndarray:
    """Mel-cepstrum of the WORLD spectral envelope (DIO + StoneMask f0, CheapTrick power envelope) by SPTK's
    ``sp2mc`` with the all-pass constant of ``sample_rate`` (``pysptk.util.mcepalpha``: 0.41 at 16 kHz)
    -> ``(frames, order)`` c1..c_order, or ``(frames, order + 1)`` from c0 (log energy) with ``energy``."""
    import pyworld  # imported here: it warns about pkg_resources on import

    x = np.ascontiguousarray(y, dtype=np.float64)
    f0, times = pyworld.dio(x, sample_rate, frame_period=hop_ms)
    f0 = pyworld.stonemask(x, f0, times, sample_rate)
    envelope = pyworld.cheaptrick(x, f0, times, sample_rate)
    cepstrum = sp2mc(envelope, order, all_pass_constant(sample_rate))[:, 0 if energy else 1:]
    n = frame_count(len(x), hop_length(sample_rate, hop_ms))
    return np.pad(cepstrum, [(0, max(0, n - len(cepstrum))), (0, 0)], mode="edge")[:n].astype(np.float32)
