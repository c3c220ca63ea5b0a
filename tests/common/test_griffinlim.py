"""common.griffinlim: convergence, agreement with librosa's phase, PGHI, fixed-phase inversion, input checks."""

import math

import librosa
import numpy as np
import pytest
import torch

from common.griffinlim import fixed_phase_inversion, griffinlim, noise_phase, pghi_phase
from common.spectral import stft

SR, N_FFT, HOP = 16000, 512, 128


@pytest.fixture(scope="module")
def signal():
    """Two 1 s items: a harmonic tone sequence and a chirp with clicks, float64."""
    t = np.arange(SR) / SR
    notes = np.repeat([220.0, 330.0, 262.0, 392.0], SR // 4)
    tones = sum(np.sin(2 * np.pi * h * np.cumsum(notes) / SR) / h for h in (1, 2, 3))
    chirp = np.sin(2 * np.pi * (200 * t + 1500 * t**2))
    chirp[::2000] += 2.0
    return torch.from_numpy(np.stack([tones, chirp]))


def spectral_convergence(y, magnitude):
    rebuilt = stft(y, N_FFT, HOP).abs()
    return float(torch.linalg.norm(rebuilt - magnitude) / torch.linalg.norm(magnitude))


@pytest.mark.parametrize("init", ["random", "zeros", "pghi"])
def test_more_iterations_match_the_target_better(signal, init):
    magnitude = stft(signal, N_FFT, HOP).abs()
    errors = [spectral_convergence(griffinlim(magnitude, power=1, hop_length=HOP, n_iter=n, init=init,
                                              length=SR, generator=torch.Generator().manual_seed(0)), magnitude)
              for n in (0, 4, 32)]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.15


def test_power_input_and_batch_shape(signal):
    spec = stft(signal, N_FFT, HOP)
    args = {"hop_length": HOP, "n_iter": 8, "init": "zeros", "length": SR}
    from_power = griffinlim(spec.abs() ** 2, power=2, **args)
    from_magnitude = griffinlim(spec.abs(), power=1, **args)
    assert from_power.shape == (2, SR)
    torch.testing.assert_close(from_power, from_magnitude, rtol=0, atol=1e-9)
    stacked = griffinlim(spec.abs()[None].expand(3, -1, -1, -1), power=1, **args)
    assert stacked.shape == (3, 2, SR)
    torch.testing.assert_close(stacked[1], from_magnitude)


@pytest.mark.parametrize("momentum", [0.0, 0.99])
def test_same_iterates_as_librosa_from_zero_phase(signal, momentum):
    # librosa's update ``t - momentum / (1 + momentum) * t_prev`` has the phase of ours, ``t + momentum *
    # (t - t_prev)``; its init=None is zero phase. From the same start both must give the same waveform.
    magnitude = stft(signal, N_FFT, HOP).abs()
    ours = griffinlim(magnitude, power=1, hop_length=HOP, n_iter=10, momentum=momentum, init="zeros", length=SR)
    ref = librosa.griffinlim(magnitude.numpy(), n_iter=10, hop_length=HOP, n_fft=N_FFT, length=SR, init=None,
                             momentum=momentum)
    np.testing.assert_allclose(ours.numpy(), ref, atol=1e-7)


def test_magnitude_exponent(signal):
    magnitude = stft(signal, N_FFT, HOP).abs()
    args = {"exponent": 1.2, "hop_length": HOP, "n_iter": 16, "init": "zeros", "length": SR}
    sharpened = griffinlim(magnitude, power=1, **args)
    assert spectral_convergence(sharpened, magnitude**1.2) < spectral_convergence(sharpened, magnitude)
    torch.testing.assert_close(griffinlim(magnitude**2, power=2, **args), sharpened, rtol=0, atol=1e-9)


def test_pghi_recovers_phase_derivatives(signal):
    """PGHI alone is far closer than a random phase, and better than 8 random-init iterations."""
    magnitude = stft(signal, N_FFT, HOP).abs()
    phase = pghi_phase(magnitude, HOP)
    assert phase.shape == magnitude.shape and phase.dtype == magnitude.dtype
    pghi_only = griffinlim(magnitude, power=1, hop_length=HOP, n_iter=0, init=phase, length=SR)
    random_8 = griffinlim(magnitude, power=1, hop_length=HOP, n_iter=8, init="random", length=SR,
                          generator=torch.Generator().manual_seed(0))
    assert spectral_convergence(pghi_only, magnitude) < spectral_convergence(random_8, magnitude)


def test_fixed_phase_inversion_uses_the_stored_phase(signal):
    spec = stft(signal[:1], N_FFT, HOP)
    exact = fixed_phase_inversion(spec.abs(), torch.angle(spec[0]), power=1, hop_length=HOP, length=SR)
    torch.testing.assert_close(exact, signal[:1])  # the true phase gives back the signal
    phase = noise_phase(N_FFT, 10, HOP, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert phase.shape == (N_FFT // 2 + 1, 10)
    y = fixed_phase_inversion(spec.abs(), phase, power=1, hop_length=HOP, length=SR)
    expected = librosa.istft(spec.abs().numpy() * np.exp(1j * phase.numpy()[:, np.arange(spec.shape[-1]) % 10]),
                             hop_length=HOP, length=SR)
    np.testing.assert_allclose(y.numpy(), expected, atol=1e-10)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda S: griffinlim(S, power=1, hop_length=HOP, init="mystery"), "init"),
        (lambda S: griffinlim(-S, power=1, hop_length=HOP), "non-negative"),
        (lambda S: griffinlim(S.to(torch.complex128), power=1, hop_length=HOP), "real"),
        (lambda S: griffinlim(S, power=0, hop_length=HOP), "power"),
        (lambda S: griffinlim(S, power=1, hop_length=HOP, momentum=-1), "momentum"),
        (lambda S: griffinlim(S, power=1, hop_length=HOP, window="hamming"), "Hann"),
        (lambda S: fixed_phase_inversion(S, torch.zeros(3, 4), power=1, hop_length=HOP), "phase"),
    ],
)
def test_bad_input_raises_clear_error(signal, call, message):
    with pytest.raises(ValueError, match=message):
        call(stft(signal, N_FFT, HOP).abs())


@pytest.fixture(scope="module")
def dc_offset_clip(signal):
    """The tone sequence at 0.08 amplitude plus a 0.06 DC offset: most of its energy sits in bins 0-1."""
    return 0.08 * signal[0] + 0.06


def test_dc_offset_clip_converges_from_pghi(dc_offset_clip):
    """A DC offset does not stall the PGHI start: at 32 iterations it is at least as close as zero phase."""
    magnitude = stft(dc_offset_clip, N_FFT, HOP).abs()
    energy = magnitude.square()
    assert energy[:2].sum() > 0.5 * energy.sum()
    phase = pghi_phase(magnitude, HOP)
    edges = phase[[0, -1]]
    assert torch.all((edges == 0) | (edges == math.pi))  # a real signal's DC and Nyquist are real
    errors = {init: spectral_convergence(griffinlim(magnitude, power=1, hop_length=HOP, n_iter=32, init=init,
                                                    length=SR, generator=torch.Generator().manual_seed(0)),
                                         magnitude)
              for init in ("pghi", "zeros", "random")}
    assert errors["pghi"] <= errors["zeros"] < 0.1
    assert errors["pghi"] < 0.03 and errors["random"] < 0.1
