"""The paper's geometric dense autoencoder on 2049-bin magnitude frames (plain nn.Modules).

Encoder: input (frame, plus its augmentation) -> ``hidden`` widths with LReLU(0.1) -> bottleneck with
sigmoid or LReLU. Decoder: latent (plus the 12-d one-hot chroma when ``skip``) -> the widths reversed with
LReLU(0.1) -> 2049 bins with ReLU. The beta-VAE variant's encoder gives a mean and log-variance instead of a
bounded bottleneck, and the decoder reads a sample of z.
"""

from __future__ import annotations

import math
import zlib

import torch
from torch import Tensor, nn

from realtime_ae.config import ACTIVATIONS, AUGMENTATIONS
from realtime_ae.features import first_difference

SLOPE = 0.1  # LReLU alpha
N_CHROMA = 12
INITS = ("torch", "glorot")  # PyTorch's Linear default, or Keras's (Glorot-uniform kernels, zero biases)


def dense_stack(widths: list[int]) -> nn.Sequential:
    """Linear layers through ``widths`` with LReLU(0.1) after each."""
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), nn.LeakyReLU(SLOPE)]
    return nn.Sequential(*layers)


def bottleneck_activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"bottleneck activation {name!r}: use one of {', '.join(ACTIVATIONS)}")
    return nn.Sigmoid() if name == "sigmoid" else nn.LeakyReLU(SLOPE)


def input_size(bins: int, augmentation: str) -> int:
    if augmentation not in AUGMENTATIONS:
        raise ValueError(f"augmentation {augmentation!r}: use one of {', '.join(AUGMENTATIONS)}")
    return bins + {"none": 0, "diff": bins - 1, "chroma": N_CHROMA}[augmentation]


class Decoder(nn.Module):
    """(z (N, bottleneck), chroma (N, 12)) -> magnitude frames (N, bins) >= 0. ``chroma`` is read only with
    ``skip``; this module alone is what the synthesizer exports."""

    def __init__(self, bins: int, hidden: list[int], bottleneck: int, skip: bool):
        super().__init__()
        self.skip = skip
        widths = [bottleneck + (N_CHROMA if skip else 0), *reversed(hidden)]
        self.hidden = dense_stack(widths)
        self.out = nn.Linear(widths[-1], bins)

    def forward(self, z: Tensor, chroma: Tensor) -> Tensor:
        if self.skip:
            z = torch.cat([z, chroma], dim=-1)
        return torch.relu(self.out(self.hidden(z)))


def glorot_init(model: nn.Module, seed: int | None = None) -> None:
    """Keras's Dense default, which the reference implementation trained with: kernels ~ U(+-sqrt(6 / (fan_in +
    fan_out))), biases 0 (PyTorch's default draws kernels and biases ~ U(+-1 / sqrt(fan_in))). Each layer draws from
    its own generator seeded by ``seed`` (default: torch's initial seed, i.e. ``run.seed``) and the layer's name, so
    two variants of the network trained with one seed (skip or not, another activation or augmentation) start
    every layer they share from the same weights: their paired differences measure the variant, not the draw."""
    base = torch.initial_seed() if seed is None else seed
    for name, m in model.named_modules():
        if isinstance(m, nn.Linear):
            generator = torch.Generator().manual_seed((base * 1_000_003 + zlib.crc32(name.encode())) % 2**63)
            bound = math.sqrt(6.0 / (m.in_features + m.out_features))
            with torch.no_grad():
                m.weight.uniform_(-bound, bound, generator=generator)
            nn.init.zeros_(m.bias)


class SpectralAutoencoder(nn.Module):
    """The whole model. ``forward(frames (N, bins), chroma (N, 12)) -> (reconstruction (N, bins), z, mu,
    logvar)``; for the deterministic AE ``mu`` is ``z`` and ``logvar`` is ``None``."""

    def __init__(self, bins: int = 2049, hidden: list[int] = (1024, 512, 256, 128, 64, 32, 16), bottleneck: int = 8,
                 activation: str = "sigmoid", augmentation: str = "chroma", skip: bool = True,
                 variational: bool = False, init: str = "torch"):
        super().__init__()
        if init not in INITS:
            raise ValueError(f"init {init!r}: use one of {', '.join(INITS)}")
        hidden = list(hidden)
        self.augmentation, self.variational = augmentation, variational
        self.encoder = dense_stack([input_size(bins, augmentation), *hidden])
        self.to_latent = nn.Linear(hidden[-1], bottleneck * (2 if variational else 1))
        self.activation = nn.Identity() if variational else bottleneck_activation(activation)
        self.decoder = Decoder(bins, hidden, bottleneck, skip)
        if init == "glorot":
            glorot_init(self)

    def inputs(self, frames: Tensor, chroma: Tensor) -> Tensor:
        """The encoder input: the frames with their augmentation appended."""
        if self.augmentation == "chroma":
            return torch.cat([frames, chroma], dim=-1)
        if self.augmentation == "diff":
            return torch.cat([frames, first_difference(frames)], dim=-1)
        return frames

    def encode(self, frames: Tensor, chroma: Tensor) -> tuple[Tensor, Tensor | None]:
        """-> (latent (N, bottleneck): the bottleneck output, or the VAE mean; log-variance or None)."""
        h = self.to_latent(self.encoder(self.inputs(frames, chroma)))
        if self.variational:
            mu, logvar = h.chunk(2, dim=-1)
            return mu, logvar
        return self.activation(h), None

    def forward(self, frames: Tensor, chroma: Tensor):
        mu, logvar = self.encode(frames, chroma)
        z = mu
        if logvar is not None and self.training:
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decoder(z, chroma), z, mu, logvar


def kl_divergence(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per item, summed over latent units: (N, L) -> (N,)."""
    return 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar).sum(-1)


def weight_penalty(model: nn.Module) -> Tensor:
    """Sum of squared weights of every Linear layer (biases excluded), as a Keras L2 kernel regulariser."""
    return sum(m.weight.square().sum() for m in model.modules() if isinstance(m, nn.Linear))
