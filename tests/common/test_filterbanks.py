"""common.filterbanks: mel and chroma filterbanks and spectrograms against librosa, batched, on any thread count;
one-hot chroma."""

import math

import librosa
import numpy as np
import pytest
import torch

from common.filterbanks import MelSpectrogram, chroma, mel_filterbank, mel_spectrogram, onehot_chroma
from tests.common.test_spectral import SR, assert_close_to, signals


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(n_fft=2048, hop_length=512, n_mels=128),
        dict(n_fft=1024, hop_length=256, n_mels=40, fmin=30.0, fmax=8000.0, htk=True, norm=None, power=1.0),
    ],
)
def test_mel_spectrogram_matches_librosa(torch_threads, kwargs):
    y = signals()
    expected = librosa.feature.melspectrogram(y=y, sr=SR, **kwargs)
    assert_close_to(mel_spectrogram(torch.from_numpy(y), SR, **kwargs), expected, rel=2e-6)
    y64 = y.astype(np.float64)
    expected64 = librosa.feature.melspectrogram(y=y64, sr=SR, dtype=np.float64, **kwargs)
    ours64 = mel_spectrogram(torch.from_numpy(y64), SR, **kwargs)
    assert ours64.dtype == torch.float64
    assert_close_to(ours64, expected64, rel=1e-6)  # librosa's float32 filterbank limits this


def test_mel_filterbank_is_librosas_and_cached():
    fb = mel_filterbank(16000, 512, 80, fmax=7600.0)
    assert fb.shape == (80, 257) and fb.dtype == torch.float32
    np.testing.assert_allclose(fb.numpy(), librosa.filters.mel(sr=16000, n_fft=512, n_mels=80, fmax=7600.0),
                               rtol=1e-6, atol=0)
    assert mel_filterbank(16000, 512, 80, fmax=7600.0) is fb


def test_mel_module_matches_function_and_follows_dtype():
    x = torch.from_numpy(signals())
    module = MelSpectrogram(SR, 1024, 256, 64, power=1.0, fmax=8000.0)
    assert not module.state_dict()
    torch.testing.assert_close(module(x), mel_spectrogram(x, SR, 1024, 256, 64, power=1.0, fmax=8000.0))
    assert module(x.double()).dtype == torch.float64
    with pytest.raises(TypeError, match="n_mel"):
        MelSpectrogram(SR, 1024, 256, 64, n_mel=80)


@pytest.mark.parametrize("tuning, norm", [(0.0, math.inf), (0.25, 2.0), (-0.1, None)])
def test_chroma_from_waveform_matches_librosa(torch_threads, tuning, norm):
    y = signals()
    y[0, 0, 2000:5000] = 0.0  # silent frames stay zero
    expected = librosa.feature.chroma_stft(y=y, sr=SR, tuning=tuning, norm=norm)
    ours = chroma(torch.from_numpy(y), sample_rate=SR, tuning=tuning, norm=norm)
    assert_close_to(ours, expected, rel=2e-6)
    assert torch.all(ours[0, 0, :, 6:7] == 0)


def test_chroma_from_power_spectrogram_matches_librosa():
    y = signals()
    power = np.abs(librosa.stft(y, n_fft=4096, hop_length=1024)) ** 2
    expected = librosa.feature.chroma_stft(S=power, sr=SR, tuning=0.0, n_chroma=24)
    assert_close_to(chroma(S=torch.from_numpy(power), sample_rate=SR, n_chroma=24), expected, rel=2e-6)
    with pytest.raises(ValueError, match="exactly one"):
        chroma(sample_rate=SR)


def test_onehot_chroma_picks_the_pitch_class_and_zeroes_silence():
    t = np.arange(SR) / SR
    a4_then_silence = np.where(t < 0.5, np.sin(2 * np.pi * 440.0 * t), 0.0).astype(np.float32)
    frames = chroma(torch.from_numpy(a4_then_silence), sample_rate=SR)
    onehot = onehot_chroma(frames)
    active = frames.amax(dim=0) > 0
    assert active[:5].all() and not active[-5:].any()
    torch.testing.assert_close(onehot.sum(dim=0), active.float())
    assert torch.all(onehot[9, :15] == 1)  # A is pitch class 9 (C = 0)
    batch = chroma(torch.from_numpy(signals()), sample_rate=SR)
    batch_onehot = onehot_chroma(batch)
    assert set(batch_onehot.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(batch_onehot.argmax(dim=-2), batch.argmax(dim=-2))


def test_onehot_chroma_ties_and_threshold():
    frames = torch.tensor([[0.5, 0.0, 0.2], [0.5, 0.0, 0.1], [0.1, 0.0, 0.0]])  # (3 classes, 3 frames)
    expected = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    assert torch.equal(onehot_chroma(frames), expected)
    assert torch.equal(onehot_chroma(frames, threshold=0.3), expected * torch.tensor([1.0, 0.0, 0.0]))
