"""Frame and bin conversions of the shared helpers checked on known tones: a tone lands in its STFT bin, mel band
and pitch class, a click in its frame; mu-law's middle and end codes; a pitch shift moves a tone by the asked
semitones; a time stretch's path has the asked slope; DTW finds a known warp; Griffin-Lim keeps the tone."""

import librosa
import numpy as np
import pytest
import torch

from common import filterbanks, griffinlim, mulaw, spectral
from common.align import path_error, pitch_shift, stretch_features, time_stretch
from common.dtw import cost_matrix, dtw

SR, N_FFT, HOP = 16000, 1024, 256


def tone(freq: float, seconds: float = 1.0, sr: int = SR) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * freq * np.arange(int(seconds * sr)) / sr)).astype(np.float32)


def peak_hz(y: np.ndarray, sr: int = SR) -> float:
    """The frequency of the largest peak of ``y``'s spectrum, refined by parabolic interpolation."""
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    k = int(np.argmax(spectrum))
    a, b, c = np.log(spectrum[k - 1 : k + 2])
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * sr / len(y)


@pytest.mark.parametrize("k", [10, 64, 300])
def test_a_tone_at_a_bin_centre_peaks_in_that_bin_on_every_frame(k):
    S = spectral.spectrogram(torch.from_numpy(tone(k * SR / N_FFT)), N_FFT, HOP, power=1.0)
    assert S.shape == (N_FFT // 2 + 1, 1 + SR // HOP)
    assert (S[:, 4:-4].argmax(dim=0) == k).all()


def test_frame_t_of_a_centred_stft_is_centred_on_sample_t_times_hop():
    for t in (0, 7, 40):
        click = np.zeros(SR, np.float32)
        click[t * HOP] = 1.0
        energy = spectral.spectrogram(torch.from_numpy(click), N_FFT, HOP, power=2.0).sum(dim=0)
        assert int(energy.argmax()) == t


@pytest.mark.parametrize("freq", [150.0, 440.0, 2500.0])
def test_a_tone_peaks_in_the_mel_band_centred_nearest_it(freq):
    n_mels = 64
    mel = filterbanks.mel_spectrogram(torch.from_numpy(tone(freq)), SR, N_FFT, HOP, n_mels)
    centres = librosa.mel_frequencies(n_mels + 2, fmax=SR / 2)[1:-1]
    assert abs(int(mel[:, 10].argmax()) - int(np.argmin(np.abs(centres - freq)))) <= 1


@pytest.mark.parametrize("midi", [57, 60, 64, 69, 70])
def test_a_tone_lands_in_its_pitch_class_and_its_one_hot(midi):
    freq = 440.0 * 2 ** ((midi - 69) / 12)
    c = filterbanks.chroma(torch.from_numpy(tone(freq)), sample_rate=SR, n_fft=4096, hop_length=HOP)
    onehot = filterbanks.onehot_chroma(c)
    assert (c[:, 8:-8].argmax(dim=0) == midi % 12).all()
    assert (onehot[:, 8:-8].argmax(dim=0) == midi % 12).all() and (onehot.sum(dim=0) <= 1).all()
    sharp = torch.from_numpy(tone(freq * 2 ** (0.7 / 12)))  # 70 cents sharp: read at A440 it is the next class
    untuned = filterbanks.chroma(sharp, sample_rate=SR, n_fft=4096, hop_length=HOP)
    tuned = filterbanks.chroma(sharp, sample_rate=SR, n_fft=4096, hop_length=HOP, tuning=0.7)  # in 1/12 octave
    assert (untuned[:, 8:-8].argmax(dim=0) == (midi + 1) % 12).all()
    assert (tuned[:, 8:-8].argmax(dim=0) == midi % 12).all()


def test_mu_law_middle_and_end_codes():
    x = torch.tensor([-1.0, -1e-9, 0.0, 1e-9, 1.0])
    assert mulaw.mu_law_encode(x).tolist() == [0, 127, 128, 128, 255]
    assert mulaw.mu_law_decode(torch.tensor([0, 255])).tolist() == [-1.0, 1.0]
    y = torch.linspace(-1, 1, 1001)
    back = mulaw.mu_law_decode(mulaw.mu_law_encode(y))
    widest = float(mulaw.mu_law_decode(torch.tensor(255)) - mulaw.mu_law_decode(torch.tensor(254)))
    assert (back - y).abs().max() <= widest / 2 + 1e-6  # every value rounds to its nearest code
    assert (back - y).abs()[495:506].max() < 1e-3  # fine steps near zero


@pytest.mark.parametrize("steps", [-3, 2, 5])
def test_a_pitch_shift_moves_a_tone_by_the_asked_semitones(steps):
    shifted = pitch_shift(tone(440.0, 2.0), SR, steps, HOP)
    assert len(shifted.output) == 2 * SR and shifted.path[-1].tolist() == [2 * SR // HOP] * 2
    assert peak_hz(shifted.output) == pytest.approx(440.0 * 2 ** (steps / 12), rel=0.004)


@pytest.mark.parametrize("rate", [0.8, 1.25])
def test_a_time_stretch_path_has_the_asked_slope_and_keeps_the_pitch(rate):
    y = tone(330.0, 2.0)
    stretched = time_stretch(y, rate, HOP)
    assert len(stretched.output) == pytest.approx(len(y) / rate, rel=0.01)
    slope = np.polyfit(stretched.path[:, 1], stretched.path[:, 0], 1)[0]  # original frames per distorted frame
    assert slope == pytest.approx(rate, rel=0.03)
    assert peak_hz(stretched.output) == pytest.approx(330.0, rel=0.003)


def test_dtw_recovers_a_known_warp_of_distinct_frames():
    rng = np.random.default_rng(0)
    X = np.cumsum(rng.standard_normal((5, 80)), axis=1)  # (dims, frames), every frame distinct
    warped = stretch_features(X, [0.7, 1.4, 0.9])
    _, path = dtw(cost_matrix(X, warped.output))
    assert path_error(path, warped.path) < 0.5
    assert path_error(path[:, ::-1], warped.path) > 3


def test_griffin_lim_keeps_a_tones_frequency():
    y = tone(523.25, 1.0)
    S = spectral.spectrogram(torch.from_numpy(y), N_FFT, HOP, power=1.0)
    out = griffinlim.griffinlim(S, power=1.0, hop_length=HOP, n_iter=16).numpy()
    assert peak_hz(out[2 * HOP : -2 * HOP]) == pytest.approx(523.25, rel=0.003)
