"""common.spectral and common.filterbanks against librosa (the oracle) on float32 and float64, batched and per item."""


import librosa
import numpy as np
import pytest
import torch

from common import spectral
from common.filterbanks import mel_spectrogram
from common.spectral import istft, magnitude, power_to_db, stft

SR = 22050


def signals(shape=(2, 3), samples=8000, dtype=np.float32) -> np.ndarray:
    """(*shape, samples): harmonic tones at varied pitches plus noise, one per item."""
    rng = np.random.default_rng(0)
    t = np.arange(samples) / SR
    items = []
    for f0 in rng.uniform(80, 900, size=int(np.prod(shape))):
        tone = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 5))
        items.append(0.3 * tone + 0.05 * rng.standard_normal(samples))
    return np.stack(items).reshape(*shape, samples).astype(dtype)


def assert_close_to(ours: torch.Tensor, expected: np.ndarray, rel: float):
    """Elementwise match within ``rel`` times the largest reference magnitude."""
    ours = ours.numpy()
    assert ours.shape == expected.shape
    np.testing.assert_allclose(ours, expected, rtol=0, atol=rel * np.abs(expected).max())


STFT_SETTINGS = [  # n_fft, hop_length, win_length, center, pad_mode
    (2048, 512, None, True, "constant"),
    (1024, 256, None, True, "reflect"),
    (512, 128, 400, False, "constant"),
    (400, 160, None, True, "constant"),
    (256, 100, 200, False, "constant"),
]


@pytest.mark.parametrize("n_fft, hop, win_length, center, pad_mode", STFT_SETTINGS)
def test_stft_matches_librosa_and_batches(torch_threads, n_fft, hop, win_length, center, pad_mode):
    y = signals()
    expected = librosa.stft(y, n_fft=n_fft, hop_length=hop, win_length=win_length, center=center,
                            pad_mode=pad_mode)
    S = stft(torch.from_numpy(y), n_fft, hop, win_length, center=center, pad_mode=pad_mode)
    assert S.dtype == torch.complex64
    assert_close_to(S, expected, rel=2e-6)
    single = stft(torch.from_numpy(y[1, 2]), n_fft, hop, win_length, center=center, pad_mode=pad_mode)
    torch.testing.assert_close(S[1, 2], single, rtol=0, atol=1e-6)

    y64 = y.astype(np.float64)
    expected64 = librosa.stft(y64, n_fft=n_fft, hop_length=hop, win_length=win_length, center=center,
                              pad_mode=pad_mode, dtype=np.complex128)
    S64 = stft(torch.from_numpy(y64), n_fft, hop, win_length, center=center, pad_mode=pad_mode)
    assert S64.dtype == torch.complex128
    assert_close_to(S64, expected64, rel=1e-13)


@pytest.mark.parametrize("block_samples", [512 * 7, 512 * 260, spectral.BLOCK_SAMPLES])
def test_cpu_blocks_match_librosa(monkeypatch, one_thread, block_samples):
    # 6 items of 63 frames at n_fft 512, hop 128 -> blocks of 7 frames; of 4 then 2 items; a single block
    y = signals()
    monkeypatch.setattr(spectral, "BLOCK_SAMPLES", block_samples)
    x = torch.from_numpy(y)
    assert_close_to(stft(x, 512, 128), librosa.stft(y, n_fft=512, hop_length=128), rel=2e-6)
    expected = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=512, hop_length=128, n_mels=40)
    assert_close_to(mel_spectrogram(x, SR, 512, 128, 40), expected, rel=2e-6)


@pytest.mark.parametrize("block_samples", [512 * 7, 512 * 260])
@pytest.mark.parametrize("n_fft, hop", [(512, 128), (400, 160)])  # hop divides n_fft / does not (fold)
def test_cpu_istft_blocks_match_librosa(monkeypatch, block_samples, n_fft, hop):
    y = signals(dtype=np.float64)
    S = librosa.stft(y, n_fft=n_fft, hop_length=hop, dtype=np.complex128)
    monkeypatch.setattr(spectral, "BLOCK_SAMPLES", block_samples)
    expected = librosa.istft(S, n_fft=n_fft, hop_length=hop, length=y.shape[-1])
    assert_close_to(istft(torch.from_numpy(S), n_fft, hop, length=y.shape[-1]), expected, rel=1e-9)


@pytest.mark.parametrize("threads", [1, 2])
def test_cpu_ops_pick_their_threads_and_leave_the_callers(threads):
    """Same values whatever torch's thread count, which the ops restore (they run on CPU_THREADS inside)."""
    x = torch.from_numpy(signals())
    seen = []
    original = torch.fft.rfft

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(*args, **kwargs)

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(torch.fft, "rfft", spy)
            mel = mel_spectrogram(x, SR, 512, 128, 40)
        S = stft(x, 512, 128)
        restored = istft(S, 512, 128, length=x.shape[-1])
        assert torch.get_num_threads() == threads
    finally:
        torch.set_num_threads(previous)
    assert seen and set(seen) == {spectral.CPU_THREADS}
    expected = librosa.feature.melspectrogram(y=signals(), sr=SR, n_fft=512, hop_length=128, n_mels=40)
    assert_close_to(mel, expected, rel=2e-6)
    torch.testing.assert_close(restored, x, rtol=0, atol=1e-5)


def test_autograd_path_matches_librosa(one_thread):
    y = signals()
    x = torch.from_numpy(y).requires_grad_(True)  # torch.stft even single-threaded
    assert_close_to(stft(x, 1024, 256).detach(), librosa.stft(y, n_fft=1024, hop_length=256), rel=2e-6)
    expected = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=1024, hop_length=256, n_mels=64, power=1.0)
    assert_close_to(mel_spectrogram(x, SR, 1024, 256, 64, power=1.0).detach(), expected, rel=2e-6)


@pytest.mark.parametrize("power", [1.0, 2.0, 0.5])
def test_spectrogram_matches_librosa(power):
    y = signals()
    expected = np.abs(librosa.stft(y, n_fft=1024, hop_length=256)) ** power
    assert_close_to(spectral.spectrogram(torch.from_numpy(y), 1024, 256, power=power), expected, rel=2e-6)


@pytest.mark.parametrize("n_fft, hop, win_length, center, pad_mode", STFT_SETTINGS)
def test_istft_matches_librosa(n_fft, hop, win_length, center, pad_mode):
    y = signals(dtype=np.float64)
    S = librosa.stft(y, n_fft=n_fft, hop_length=hop, win_length=win_length, center=center,
                     dtype=np.complex128)
    # float64 everywhere, including the edges where the window envelope is tiny and lengths that
    # cut frames, reach past the last frame, or pad with zeros
    for length in (None, 3000, y.shape[-1], y.shape[-1] + 2000):
        expected = librosa.istft(S, n_fft=n_fft, hop_length=hop, win_length=win_length, center=center,
                                 length=length)
        ours = istft(torch.from_numpy(S), n_fft, hop, win_length, center=center, length=length)
        assert_close_to(ours, expected, rel=1e-9)
    # float32: compare where the envelope is well conditioned (what float32 librosa can resolve)
    S32 = S.astype(np.complex64)
    expected = librosa.istft(S32, n_fft=n_fft, hop_length=hop, win_length=win_length, center=center)
    ours = istft(torch.from_numpy(S32), n_fft, hop, win_length, center=center)
    assert ours.dtype == torch.float32
    inner = slice(0, None) if center else slice(n_fft, -n_fft)
    assert_close_to(ours[..., inner], expected[..., inner], rel=1e-5)


@pytest.mark.parametrize("dtype, tol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
@pytest.mark.parametrize("n_fft, hop, pad_mode", [(2048, 512, "constant"), (512, 128, "reflect"),
                                                  (1024, 256, "constant")])
def test_istft_inverts_stft(dtype, tol, n_fft, hop, pad_mode):
    x = torch.from_numpy(signals()).to(dtype)
    restored = istft(stft(x, n_fft, hop, pad_mode=pad_mode), n_fft, hop, length=x.shape[-1])
    assert restored.shape == x.shape and restored.dtype == dtype
    torch.testing.assert_close(restored, x, rtol=0, atol=tol)


def test_windows_are_cached_per_device_and_dtype():
    spectral._window.cache_clear()
    x = torch.from_numpy(signals())
    stft(x, 512, 128)
    stft(x[0], 512, 128)
    stft(x.double(), 512, 128)
    info = spectral._window.cache_info()
    assert (info.misses, info.hits) == (2, 1)


def test_magnitude_powers():
    S = stft(torch.from_numpy(signals()), 512, 128)
    torch.testing.assert_close(magnitude(S), S.abs())
    torch.testing.assert_close(magnitude(S, 2.0), S.abs() ** 2)
    torch.testing.assert_close(magnitude(S, 1.2), S.abs() ** 1.2)
    torch.testing.assert_close(spectral.log1p_magnitude(S), torch.log1p(S.abs()))
    torch.testing.assert_close(magnitude(S.real, 2.0), S.real**2)


def test_log_one_plus_equals_log1p_from_silence_to_loud_magnitudes():
    x = torch.cat([torch.zeros(1), torch.logspace(-12, 6, 20_000)])
    x.requires_grad_(True)
    ours, reference = spectral.log_one_plus(x), torch.log1p(x.detach().double())
    error = (ours.double() - reference).abs()
    assert error[reference < 1].max() <= 1.2e-7 and (error / reference)[reference >= 1].max() <= 1.2e-7
    ours.sum().backward()
    torch.testing.assert_close(x.grad, 1 / (1 + x.detach()))


@pytest.mark.parametrize("power", [1.0, 1.2, 2.0])
def test_magnitude_gradient_is_finite_on_silence(power):
    x = torch.from_numpy(signals(shape=(2,), samples=4000))
    x[0] = 0.0
    x.requires_grad_(True)
    magnitude(stft(x, 512, 128), power).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad[1].abs().sum() > 0


@pytest.mark.parametrize("ref, top_db", [(1.0, 80.0), ("max", 80.0), (0.01, None), ("max", 30.0)])
def test_power_to_db_matches_librosa_per_item(ref, top_db):
    power = mel_spectrogram(torch.from_numpy(signals()), SR, 1024, 256, 64)
    power[0, 1, :, :5] = 0.0  # silent frames hit the amin floor
    power[1] *= 1e-4  # items at different levels get their own top_db floor
    db = power_to_db(power, ref=ref, top_db=top_db)
    librosa_ref = np.max if ref == "max" else ref
    for index in np.ndindex(*power.shape[:-2]):
        expected = librosa.power_to_db(power[index].numpy(), ref=librosa_ref, top_db=top_db)
        assert_close_to(db[index], expected, rel=1e-6)


def test_power_to_db_rejects_bad_arguments():
    with pytest.raises(ValueError, match="amin"):
        power_to_db(torch.ones(3, 3), amin=0.0)
    with pytest.raises(ValueError, match="top_db"):
        power_to_db(torch.ones(3, 3), top_db=-1.0)
    with pytest.raises(ValueError, match="ref"):
        power_to_db(torch.ones(3, 3), ref="min")


def test_input_validation(torch_threads):
    with pytest.raises(TypeError, match="real floating-point"):
        stft(torch.zeros(1000, dtype=torch.int16), 256, 64)
    with pytest.raises(ValueError, match="frequency bins"):
        istft(torch.zeros(100, 10, dtype=torch.complex64), 256, 64)
    with pytest.raises(ValueError, match="win_length"):
        stft(torch.zeros(1000), 256, 64, win_length=512)
    with pytest.raises(ValueError, match="empty signal batch"):
        stft(torch.zeros(0, 3000), 256, 64)
    with pytest.raises(ValueError, match="shorter than n_fft"):
        stft(torch.zeros(100), 256, 64, center=False)
