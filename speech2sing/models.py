"""The speech-to-singing network (Section 2.2) as one nn.Module with switches for every system of Table 1,
and the multi-task loss (Section 2.3).

Frequency bins are channels and every layer is a 1-D convolution over time. Encoder (speech E1 and melody E2
alike), for ``channels`` = c:

    conv k3: F -> c                                        h0 (c, T)
    time down (conv k4 stride 2), freq down (conv k3 c -> c/2)       h1 (c/2, T/2)
    time down, freq down (c/2 -> c/4), IN + bidirectional GRU         h2 (c/4, T/4)
    time down, freq down (c/4 -> c/8)                       z  (c/8, T/8): time and frequency down by 8

Decoder on [z_speech; z_melody]: time up (transposed conv k4 stride 2) then freq up (conv k3) three times
(-> c/4, c/2, c), adding the speech encoder's h2, h1, h0 (skip connections), with IN + GRU after the first
(c/4, T/4: the mirror of the encoder's), then a conv to F.
The phoneme decoder reads the penultimate frequency-upsampling block (c/2, T/2): transposed conv (x2 in
time), GRU, conv to the 41 phone classes. Switches: ``melody`` (False: B1), ``skips`` (False: B2), ``norm``
= "gru" (IN before the GRUs), "all" (also before every down/up-sampling layer: AllNorm) or "none" (B2),
``phone_head`` (P-MTL). Lengths are zero-padded to a multiple of 8 (at least 16) and cut back.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

NORMS = ("gru", "all", "none")


def _act() -> nn.Module:
    return nn.LeakyReLU(0.2)


def _sample(kind: str, c_in: int, c_out: int, norm_all: bool) -> nn.Sequential:
    """One down/up-sampling layer (+ LeakyReLU): "time_down" stride-2 conv, "time_up" stride-2 transposed
    conv, "freq" a k3 conv changing the channel (frequency) count; IN first when ``norm_all``."""
    layers = [nn.InstanceNorm1d(c_in, affine=True)] if norm_all else []
    if kind == "time_down":
        layers.append(nn.Conv1d(c_in, c_out, 4, stride=2, padding=1))
    elif kind == "time_up":
        layers.append(nn.ConvTranspose1d(c_in, c_out, 4, stride=2, padding=1))
    else:
        layers.append(nn.Conv1d(c_in, c_out, 3, padding=1))
    return nn.Sequential(*layers, _act())


class NormGRU(nn.Module):
    """(B, C, T) -> (B, C, T): x + biGRU(IN(x)) (IN left out when ``norm`` is False)."""

    def __init__(self, channels: int, norm: bool):
        super().__init__()
        self.norm = nn.InstanceNorm1d(channels, affine=True) if norm else nn.Identity()
        self.gru = nn.GRU(channels, channels // 2, batch_first=True, bidirectional=True)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.gru(self.norm(x).transpose(1, 2))[0].transpose(1, 2)


class SparseRowConv(nn.Conv1d):
    """A k3 ``Conv1d`` over frequency channels that reads only the rows (bins) nonzero somewhere in the batch:
    the same output as the full convolution, as zero rows add nothing, at a fraction of the cost on the pitch
    image C (one 1 per frame, the melody's few dozen bins of 513)."""

    def forward(self, x: Tensor) -> Tensor:
        rows = x.detach().abs().amax(dim=(0, 2)).nonzero()[:, 0]
        if len(rows) == 0:  # no voiced frame: the bias alone
            return self.bias[None, :, None].expand(len(x), -1, x.shape[-1])
        return F.conv1d(x[:, rows], self.weight[:, rows], self.bias, padding=self.padding)


class Encoder(nn.Module):
    """(B, F, T) -> latent (B, c/8, T/8) and skips [h0 (c, T), h1 (c/2, T/2), h2 (c/4, T/4)]; T % 8 == 0.
    ``sparse_input``: the input is mostly zero rows (the pitch image), see :class:`SparseRowConv`."""

    def __init__(self, bins: int, c: int, norm: str, sparse_input: bool = False):
        super().__init__()
        all_ = norm == "all"
        self.inp = nn.Sequential((SparseRowConv if sparse_input else nn.Conv1d)(bins, c, 3, padding=1), _act())
        self.down = nn.ModuleList(
            nn.Sequential(_sample("time_down", ch, ch, all_), _sample("freq", ch, ch // 2, all_))
            for ch in (c, c // 2, c // 4))
        self.gru = NormGRU(c // 4, norm != "none")

    def forward(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        h = self.inp(x)
        skips = [h]
        for level, block in enumerate(self.down):
            h = block(h)
            if level == 1:
                h = self.gru(h)
            skips.append(h)
        return skips.pop(), skips


class Speech2Singing(nn.Module):
    """log(1+|S|) speech X and pitch image C, both (B, F, T) -> predicted singing (B, F, T) and phone logits
    (B, phones, T) (``None`` without the phoneme head)."""

    def __init__(self, bins: int = 513, channels: int = 512, melody: bool = True, skips: bool = True,
                 norm: str = "gru", phone_head: bool = False, phones: int = 41, phone_channels: int = 128,
                 melody_skip: bool = False):
        super().__init__()
        if norm not in NORMS or channels % 8:
            raise ValueError(f"norm must be one of {NORMS} and channels a multiple of 8, got {norm}, {channels}")
        c, all_ = channels, norm == "all"
        self.melody, self.skips = melody, skips
        self.speech_encoder = Encoder(bins, c, norm)
        self.melody_encoder = Encoder(bins, c, norm, sparse_input=True) if melody else None
        widths = [(c // 8) * (2 if melody else 1), c // 4, c // 2, c]
        self.up = nn.ModuleList(
            nn.ModuleDict({"time": _sample("time_up", widths[i], widths[i], all_),
                           "freq": _sample("freq", widths[i], widths[i + 1], all_)}) for i in range(3))
        self.gru = NormGRU(c // 4, norm != "none")
        self.out = nn.Conv1d(c, bins, 3, padding=1)
        # the pitch image straight onto the output, filtered along frequency and time (5 bins x 3 frames) and
        # weighted per bin: harmonics placed at the melody's bins, not only through the T/8 bottleneck
        self.melody_skip = nn.Conv2d(1, 1, (5, 3), padding=(2, 1)) if melody and melody_skip else None
        self.melody_gain = nn.Parameter(torch.zeros(bins, 1)) if self.melody_skip is not None else None
        self.phone_head = nn.ModuleDict({
            "up": nn.Sequential(nn.ConvTranspose1d(c // 2, phone_channels, 4, stride=2, padding=1), _act()),
            "gru": nn.GRU(phone_channels, phone_channels // 2, batch_first=True, bidirectional=True),
            "out": nn.Conv1d(phone_channels, phones, 1),
        }) if phone_head else None

    def forward(self, x: Tensor, c: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        T = x.shape[-1]
        pad = max(16, T + (-T) % 8) - T  # a multiple of 8, and 2+ latent frames for instance norm
        x = F.pad(x, (0, pad))
        z, skips = self.speech_encoder(x)
        if self.melody_encoder is not None:
            if c is None:
                raise ValueError("this system is melody-conditioned: pass the pitch image c")
            z = torch.cat([z, self.melody_encoder(F.pad(c, (0, pad)))[0]], dim=1)
        h, penultimate = z, None
        for level, block in enumerate(self.up):
            h = block["freq"](block["time"](h))
            if self.skips:
                h = h + skips[2 - level]
            if level == 0:
                h = self.gru(h)
            if level == 1:
                penultimate = h
        y = self.out(h)
        if self.melody_skip is not None:
            y = y + self.melody_gain * self.melody_skip(F.pad(c, (0, pad))[:, None])[:, 0]
        y = y[..., :T]
        if self.phone_head is None:
            return y, None
        p = self.phone_head["up"](penultimate)
        p = self.phone_head["gru"](p.transpose(1, 2))[0].transpose(1, 2)
        return y, self.phone_head["out"](p)[..., :T]


def mtl_loss(y_hat: Tensor, y: Tensor, mask: Tensor, logits: Tensor | None = None, phones: Tensor | None = None,
             mtl_lambda: float = 0.0) -> dict[str, Tensor]:
    """L = MSE(Y, Y^) + lambda * mean over frames of CE(y^_t, c_t). ``y_hat, y (B, F, T)``, ``mask (B, T)``
    marks real (unpadded) frames; ``logits (B, P, T)``, ``phones (B, T)``. MSE is the mean over bins and
    real frames (the paper's squared norm divided by F T)."""
    weight = mask[:, None, :].to(y.dtype).expand_as(y)
    mse = ((y_hat - y).square() * weight).sum() / weight.sum()
    out = {"mse": mse, "loss": mse}
    if logits is not None and mtl_lambda > 0:
        ce = F.cross_entropy(logits, phones.masked_fill(~mask, -100), ignore_index=-100)
        out.update(ce=ce, loss=mse + mtl_lambda * ce)
    return out


class PhoneRecognizer(nn.Module):
    """Frame phone classifier for the intelligibility proxy: log(1+|S|) (B, F, T) -> logits (B, phones, T)
    (conv k3, bidirectional GRU, conv k1)."""

    def __init__(self, bins: int, channels: int = 64, phones: int = 41):
        super().__init__()
        self.inp = nn.Sequential(nn.Conv1d(bins, channels, 3, padding=1), _act())
        self.gru = NormGRU(channels, norm=True)
        self.out = nn.Conv1d(channels, phones, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.out(self.gru(self.inp(x)))
