"""Arrays as pictures: heat maps and log-magnitude spectrograms as RGB uint8 images (for W&B and reports)."""

from __future__ import annotations

import math

import numpy as np


def heatmap_image(array: np.ndarray, colormap: str = "viridis") -> np.ndarray:
    """Values (H, W) scaled to their range and coloured -> RGB uint8 image (H, W, 3), row 0 at the bottom;
    a constant or non-finite range gives the colour map's first colour."""
    from matplotlib import colormaps

    lo, hi = float(array.min()), float(array.max())
    scaled = (array - lo) / (hi - lo) if math.isfinite(hi - lo) and hi > lo else np.zeros_like(array)
    return (colormaps[colormap](scaled[::-1])[..., :3] * 255).astype(np.uint8)


def spectrogram_image(audio: np.ndarray, n_fft: int = 1024, hop_length: int = 256,
                      sample_rate: int | None = None, n_mels: int = 128) -> np.ndarray:
    """A log-power spectrogram of mono ``audio`` (samples,) as an RGB uint8 image (H, W, 3), low frequencies at
    the bottom, 80 dB of range below the loudest bin. With ``sample_rate`` the rows are ``n_mels`` mel bands
    (pitch spaced as heard), otherwise the n_fft // 2 + 1 linear-frequency bins."""
    import torch

    from common.filterbanks import mel_spectrogram
    from common.spectral import magnitude, power_to_db, stft

    x = torch.as_tensor(np.asarray(audio, dtype=np.float32))
    if x.shape[-1] < n_fft:  # a clip shorter than one frame still gets a (one-column) picture
        x = torch.nn.functional.pad(x, (0, n_fft - x.shape[-1]))
    if sample_rate is None:
        power = magnitude(stft(x, n_fft=n_fft, hop_length=hop_length), power=2.0)
    else:
        power = mel_spectrogram(x, sample_rate, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels)
    return heatmap_image(power_to_db(power, top_db=80.0).numpy(), "magma")
