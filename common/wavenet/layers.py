"""WaveNet layers: causal dilated convolution, gated residual layer, decoder and encoder stacks.

Audio is mu-law coded: integer codes in ``[0, n_classes)`` with shape ``(batch, time)``. Latents are
``(batch, cond_channels, frames)`` at ``1 / cond_hop`` of the sample rate (nearest-neighbour upsampled).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class CausalConv1d(nn.Conv1d):
    """Dilated convolution whose output at ``t`` sees inputs ``t - (k-1)*d .. t`` only (left zero-padding).

    (batch, in_channels, time) -> (batch, out_channels, time).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 2, dilation: int = 1):
        super().__init__(in_channels, out_channels, kernel_size, dilation=dilation)
        self.left_pad = (kernel_size - 1) * dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, (self.left_pad, 0)))


class GatedResidualLayer(nn.Module):
    """One decoder layer: ``z = tanh(a) * sigmoid(b)`` with ``[a; b] = conv(x) + W_c c``.

    Returns ``(x + W_r z, W_s z)``: the residual output (batch, residual, time) and the skip
    contribution (batch, skip, time). The conditioning ``c`` enters through a per-layer 1x1 projection.
    """

    def __init__(self, residual_channels: int, skip_channels: int, cond_channels: int,
                 kernel_size: int, dilation: int):
        super().__init__()
        self.dilation = dilation
        self.conv = CausalConv1d(residual_channels, 2 * residual_channels, kernel_size, dilation)
        self.cond = nn.Conv1d(cond_channels, 2 * residual_channels, 1) if cond_channels else None
        self.residual = nn.Conv1d(residual_channels, residual_channels, 1)
        self.skip = nn.Conv1d(residual_channels, skip_channels, 1)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, R, T); cond: projected conditioning (B, 2R, T) added to the gate input, or None."""
        h = self.conv(x)
        if cond is not None:
            h = h + cond
        a, b = h.chunk(2, dim=1)
        z = torch.tanh(a) * torch.sigmoid(b)
        return x + self.residual(z), self.skip(z)


class ScalarInput(nn.Module):
    """Paper input embedding: code -> ``code / (n_classes - 1) - 0.5`` -> affine map to ``channels``."""

    def __init__(self, n_classes: int, channels: int):
        super().__init__()
        self.n_classes = n_classes
        self.proj = nn.Linear(1, channels)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        """codes (B, T) long -> (B, T, channels)."""
        return self.proj((codes.float() / (self.n_classes - 1) - 0.5).unsqueeze(-1))


class WaveNetDecoder(nn.Module):
    """Conditional causal WaveNet predicting 256-way mu-law logits of the next sample.

    ``logits[:, :, t]`` depends on ``codes[:, t - receptive_field .. t-1]`` and on the latent frame
    ``t // cond_hop``. The input embedding is pointwise (all temporal context comes from the dilated
    layers): ``"scalar"`` is the paper's ``x/255 - 0.5`` followed by an affine map, ``"table"`` a learned
    ``nn.Embedding``. Either way it equals a lookup table (``input_table()``), which the incremental
    engines use. Defaults are the paper size: 4 blocks x 14 layers (dilations 1..8192), 128/128 channels,
    64-d conditioning at 1/800 of the sample rate, 256 classes.
    """

    def __init__(self, n_blocks: int = 4, n_layers: int = 14, residual_channels: int = 128,
                 skip_channels: int = 128, cond_channels: int = 64, n_classes: int = 256,
                 kernel_size: int = 2, cond_hop: int = 800, input_embedding: str = "scalar"):
        super().__init__()
        if input_embedding not in ("scalar", "table"):
            raise ValueError(f"input_embedding must be 'scalar' or 'table', got {input_embedding!r}")
        if kernel_size < 2:
            raise ValueError(f"decoder kernel_size must be >= 2, got {kernel_size}")
        self.residual_channels, self.skip_channels = residual_channels, skip_channels
        self.cond_channels, self.n_classes = cond_channels, n_classes
        self.kernel_size, self.cond_hop = kernel_size, cond_hop
        self.embed = (ScalarInput(n_classes, residual_channels) if input_embedding == "scalar"
                      else nn.Embedding(n_classes, residual_channels))
        self.layers = nn.ModuleList(
            GatedResidualLayer(residual_channels, skip_channels, cond_channels, kernel_size, 2**i)
            for _ in range(n_blocks) for i in range(n_layers))
        self.head = nn.Sequential(nn.ReLU(), nn.Conv1d(skip_channels, skip_channels, 1), nn.ReLU(),
                                  nn.Conv1d(skip_channels, n_classes, 1))

    @property
    def dilations(self) -> list[int]:
        return [layer.dilation for layer in self.layers]

    @property
    def receptive_field(self) -> int:
        """Number of past samples one prediction depends on (the +1 is the one-sample input shift)."""
        return (self.kernel_size - 1) * sum(self.dilations) + 1

    def input_table(self) -> torch.Tensor:
        """Embedding of every code: (n_classes, residual_channels)."""
        codes = torch.arange(self.n_classes, device=next(self.parameters()).device)
        return self.embed(codes[None])[0]

    def embed_shifted(self, codes: torch.Tensor) -> torch.Tensor:
        """codes (B, T) -> embedded input shifted right by one sample (B, R, T); step 0 sees zeros."""
        x = self.embed(codes).transpose(1, 2)
        return F.pad(x, (1, 0))[..., :-1]

    def forward(self, codes: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """Teacher-forced logits. codes (B, T) long; cond (B, cond_channels, F) with F * cond_hop >= T.

        Returns (B, n_classes, T); ``logits[..., t]`` scores ``codes[:, t]`` given ``codes[:, :t]``.
        """
        n = codes.shape[1]
        if (cond is None) != (not self.cond_channels):
            raise ValueError("cond must be given exactly when cond_channels > 0")
        if cond is not None and cond.shape[-1] * self.cond_hop < n:
            raise ValueError(f"{cond.shape[-1]} latent frames cover fewer than {n} samples")
        x = self.embed_shifted(codes)
        skip = 0
        for layer in self.layers:
            c = None
            if layer.cond is not None:  # 1x1 projection at frame rate, then nearest-neighbour upsampling
                c = layer.cond(cond).repeat_interleave(self.cond_hop, dim=-1)[..., :n]
            x, s = layer(x, c)
            skip = skip + s
        return self.head(skip)


class NonCausalResidualLayer(nn.Module):
    """Encoder layer: ``x + conv1x1(relu(dilated_conv(relu(x))))``, 'same' padding. (B, C, T) -> (B, C, T)."""

    def __init__(self, channels: int, kernel_size: int, dilation: int):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, kernel_size, dilation=dilation,
                              padding=dilation * (kernel_size - 1) // 2)
        self.out = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.out(F.relu(self.conv(F.relu(x))))


class WaveNetEncoder(nn.Module):
    """Non-causal dilated encoder: mu-law codes (B, T) -> latent (B, latent_channels, T // pool).

    ``codes / (n_classes - 1) - 0.5`` -> conv(1 -> channels, k) -> n_blocks x n_layers residual layers
    (dilation 2^i) -> 1x1 to latent_channels -> average pooling over ``pool`` samples (800 = 50 ms at 16 kHz).
    """

    def __init__(self, n_blocks: int = 3, n_layers: int = 10, channels: int = 128, latent_channels: int = 64,
                 kernel_size: int = 3, pool: int = 800, n_classes: int = 256):
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"encoder kernel_size must be odd for 'same' padding, got {kernel_size}")
        self.n_classes, self.pool = n_classes, pool
        self.inp = nn.Conv1d(1, channels, kernel_size, padding=(kernel_size - 1) // 2)
        self.layers = nn.Sequential(*(NonCausalResidualLayer(channels, kernel_size, 2**i)
                                      for _ in range(n_blocks) for i in range(n_layers)))
        self.out = nn.Conv1d(channels, latent_channels, 1)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        x = (codes.float() / (self.n_classes - 1) - 0.5).unsqueeze(1)
        return F.avg_pool1d(self.out(self.layers(self.inp(x))), self.pool)
