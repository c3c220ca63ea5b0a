"""common.mulaw against torchaudio, the oracle: identical codes and values, plus our clamp/NaN policy."""

import numpy as np
import pytest
import torch
import torchaudio.functional as F

from common.mulaw import mu_law_decode, mu_law_encode

CHANNEL_COUNTS = [2, 16, 256, 65536]


def float32_from_keys(keys: np.ndarray) -> torch.Tensor:
    """Float32 values from order-preserving integer keys (key 0 is +0; -k is the negative of +k)."""
    magnitude_bits = np.abs(keys).astype(np.uint32)
    bits = np.where(keys < 0, magnitude_bits | np.uint32(0x80000000), magnitude_bits)
    return torch.from_numpy(bits.view(np.float32))


def code_boundaries(channels: int) -> np.ndarray:
    """Keys of the smallest float32 giving each code 1..channels-1 under torchaudio (bisection)."""
    k = torch.arange(1, channels)
    one = int(np.float32(1).view(np.int32))
    lo, hi = np.full(channels - 1, -one, dtype=np.int64), np.full(channels - 1, one, dtype=np.int64)
    while np.any(lo < hi):
        mid = (lo + hi) // 2
        reached = (F.mu_law_encoding(float32_from_keys(mid), channels) >= k).numpy()
        lo, hi = np.where(reached, lo, mid + 1), np.where(reached, mid, hi)
    return lo


def special_values() -> torch.Tensor:
    tiny, smallest_subnormal = np.finfo(np.float32).tiny, np.float32(1.4e-45)
    values = [0.0, 1.0, smallest_subnormal, tiny, tiny * np.float32(0.5), np.nextafter(np.float32(1), 0)]
    values = torch.tensor(values, dtype=torch.float32)
    return torch.cat([values, -values])


@pytest.mark.parametrize("channels", CHANNEL_COUNTS)
def test_encode_matches_torchaudio_on_grid_boundaries_and_specials(channels):
    grid = torch.linspace(-1, 1, 4_000_001, dtype=torch.float32)
    boundaries = code_boundaries(channels)
    steps = np.arange(-4, 5)
    neighbours = float32_from_keys(boundaries[:, None] + steps).clamp(-1, 1)  # (channels - 1, 9)
    x = torch.cat([grid, neighbours.flatten(), special_values()])
    codes = mu_law_encode(x, channels)
    assert codes.dtype == torch.int64
    assert torch.equal(codes, F.mu_law_encoding(x, channels))
    # the neighbours straddle every code change: code k from the boundary on, k - 1 just below it
    k = torch.arange(1, channels)[:, None]
    assert torch.equal(mu_law_encode(neighbours, channels), torch.where(torch.from_numpy(steps) < 0, k - 1, k))


def test_encode_matches_torchaudio_for_float64_strided_and_batched_input():
    x64 = torch.linspace(-1, 1, 200_001, dtype=torch.float64)
    assert torch.equal(mu_law_encode(x64), F.mu_law_encoding(x64, 256))
    x = torch.rand(3, 4, 1001, dtype=torch.float32) * 2 - 1
    strided = x.transpose(0, 2)[::3]
    assert torch.equal(mu_law_encode(strided), F.mu_law_encoding(strided, 256))
    assert mu_law_encode(x).shape == x.shape


@pytest.mark.parametrize("channels", CHANNEL_COUNTS)
@pytest.mark.parametrize("code_dtype", [torch.int64, torch.int32])
def test_decode_matches_torchaudio_for_every_code(channels, code_dtype):
    codes = torch.arange(channels, dtype=code_dtype)
    values = mu_law_decode(codes, channels)
    assert values.dtype == torch.float32
    assert torch.equal(values, F.mu_law_decoding(codes, channels))
    assert values[0] == -1 and values[-1] == 1 and torch.all(values[1:] > values[:-1])


@pytest.mark.parametrize("channels", [16, 256])
def test_decode_then_encode_returns_the_code(channels):
    codes = torch.arange(channels).reshape(2, -1)
    assert torch.equal(mu_law_encode(mu_law_decode(codes, channels), channels), codes)


def test_out_of_range_input_is_clamped_unlike_torchaudio():
    x = torch.tensor([1.5, np.inf, 1 + 1e-6, -1.5, -np.inf, -(1 + 1e-6)], dtype=torch.float32)
    assert mu_law_encode(x).tolist() == [255, 255, 255, 0, 0, 0]
    assert torch.equal(mu_law_encode(x), F.mu_law_encoding(x.clamp(-1, 1), 256))
    assert F.mu_law_encoding(x[:1], 256).item() > 255  # what the clamp protects against


def test_nan_raises_a_clear_error():
    with pytest.raises(ValueError, match="1 NaN"):
        mu_law_encode(torch.tensor([0.0, float("nan"), 0.5]))


def test_wrong_dtypes_and_channel_counts_raise():
    with pytest.raises(TypeError, match="scale PCM"):
        mu_law_encode(torch.tensor([0, 1000], dtype=torch.int16))
    with pytest.raises(TypeError, match="integer codes"):
        mu_law_decode(torch.tensor([0.0, 255.0]))
    for channels in (1, 2.5):
        with pytest.raises(ValueError, match="quantization_channels"):
            mu_law_encode(torch.zeros(3), channels)


@pytest.mark.slow
def test_encode_matches_torchaudio_on_every_float32_in_unit_interval():
    one = int(np.float32(1).view(np.int32))  # bit patterns 0..one are exactly the floats in [0, 1]
    chunk = 1 << 24
    for start in range(0, one + 1, chunk):
        bits = torch.arange(start, min(start + chunk, one + 1), dtype=torch.int32)
        for x in (bits.view(torch.float32), -bits.view(torch.float32)):
            assert torch.equal(mu_law_encode(x), F.mu_law_encoding(x, 256)), f"chunk at bits {start}"
