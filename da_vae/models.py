"""The networks of Luo & Su (2018), Table 1, as plain ``nn.Module``s.

Inputs are ``(batch, T, F)`` images: T frames of F bands (mel bands, piano-roll pitches or STFT bins).
The encoder is Conv 1xF (64) -> Conv 3x1 stride (2, 1) (128) -> Conv 2x1 stride (2, 1) (256) -> FC 512 ->
Gaussian layer (mu and log-variance of size L); batch norm + tanh after every layer but the Gaussian one.
A 1xF convolution spans all F bands, so the image has width 1 afterwards and every layer is a 1-D
convolution over time with the bands as input channels; that is exactly the 2-D network of Table 1 (and
about twice as fast on CPU). The decoder mirrors the encoder; its output layer is linear.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from common.spectral import log_one_plus


def _block(layer: nn.Module, features: int, norm: type[nn.Module]) -> nn.Sequential:
    return nn.Sequential(layer, norm(features), nn.Tanh())


def conv_frames(frames: int) -> tuple[int, int]:
    """Time lengths after Conv 3x1 and Conv 2x1 (both stride 2): 21 -> (10, 5)."""
    after_second = (frames - 3) // 2 + 1
    after_third = (after_second - 2) // 2 + 1
    if after_third < 1:
        raise ValueError(f"segments of {frames} frames are too short for the encoder; use at least 5")
    return after_second, after_third


class Encoder(nn.Module):
    """``(batch, T, F)`` -> ``(mu, logvar)``, each ``(batch, latent_dim)``."""

    def __init__(self, bands: int, frames: int = 21, latent_dim: int = 128, channels=(64, 128, 256),
                 hidden: int = 512):
        super().__init__()
        c1, c2, c3 = channels
        self.latent_dim = latent_dim
        self.convs = nn.Sequential(
            _block(nn.Conv1d(bands, c1, 1), c1, nn.BatchNorm1d),  # Conv 1xF
            _block(nn.Conv1d(c1, c2, 3, stride=2), c2, nn.BatchNorm1d),  # Conv 3x1, stride (2, 1)
            _block(nn.Conv1d(c2, c3, 2, stride=2), c3, nn.BatchNorm1d),  # Conv 2x1, stride (2, 1)
        )
        self.fc = _block(nn.Linear(c3 * conv_frames(frames)[1], hidden), hidden, nn.BatchNorm1d)
        self.gauss = nn.Linear(hidden, 2 * latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.fc(self.convs(x.transpose(1, 2)).flatten(1))
        mu, logvar = self.gauss(h).chunk(2, dim=1)
        return mu, logvar

    def sliding_mu(self, x: Tensor, frames: int) -> Tensor:
        """Eval mode: mu of every ``frames``-long segment of one sequence ``x (N, F)`` -> ``(N - frames + 1, L)``,
        row s for the segment starting at frame s; equal to ``forward`` on the stacked segments.

        The convolutions (and their batch norm and tanh) act on frames independently of where a segment starts,
        so they run once over the whole sequence (the strided ones at stride 1, the second with dilation 2) and
        each segment picks its positions (every 4th frame) for the fully connected layers."""
        if self.training:
            raise RuntimeError("sliding_mu needs eval mode (batch norm with its running statistics)")
        first, second, third = self.convs
        h = first(x.T.unsqueeze(0))  # (1, c1, N)
        conv = second[0]
        h = second[2](second[1](F.conv1d(h, conv.weight, conv.bias)))  # (1, c2, N - 2): every start
        conv = third[0]
        h = third[2](third[1](F.conv1d(h, conv.weight, conv.bias, dilation=2)))  # (1, c3, N - 4)
        starts = torch.arange(len(x) - frames + 1)
        positions = starts[:, None] + 4 * torch.arange(conv_frames(frames)[1])  # (segments, T3)
        h = h[0][:, positions].permute(1, 0, 2).flatten(1)  # (segments, c3 * T3), channel-major like forward
        return self.gauss(self.fc(h)).chunk(2, dim=1)[0]


class Decoder(nn.Module):
    """``(batch, latent_dim)`` -> ``(batch, T, F)``: the encoder's layers in reverse, transposed."""

    def __init__(self, bands: int, frames: int = 21, latent_dim: int = 128, channels=(64, 128, 256),
                 hidden: int = 512):
        super().__init__()
        c1, c2, c3 = channels
        second, third = conv_frames(frames)
        self.shape = (c3, third)
        self.fc = nn.Sequential(
            _block(nn.Linear(latent_dim, hidden), hidden, nn.BatchNorm1d),
            _block(nn.Linear(hidden, c3 * third), c3 * third, nn.BatchNorm1d),
        )
        self.deconvs = nn.Sequential(
            _block(nn.ConvTranspose1d(c3, c2, 2, stride=2, output_padding=second - 2 * third), c2, nn.BatchNorm1d),
            _block(nn.ConvTranspose1d(c2, c1, 3, stride=2, output_padding=frames - 2 * second - 1), c1,
                   nn.BatchNorm1d),
            nn.ConvTranspose1d(c1, bands, 1),  # output layer: linear
        )

    def forward(self, z: Tensor) -> Tensor:
        h = self.fc(z).unflatten(1, self.shape)
        return self.deconvs(h).transpose(1, 2)


class VAE(nn.Module):
    """Source-domain VAE: ``x (batch, T, F)`` -> ``(reconstruction (batch, T, F), mu, logvar)``.

    In training the decoder sees ``z = mu + sigma * eps``; in eval mode it sees ``mu`` (the paper's z).
    """

    def __init__(self, bands: int, frames: int = 21, latent_dim: int = 128, channels=(64, 128, 256),
                 hidden: int = 512):
        super().__init__()
        self.encoder = Encoder(bands, frames, latent_dim, channels, hidden)
        self.decoder = Decoder(bands, frames, latent_dim, channels, hidden)

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """``generator`` draws the training noise eps (default: torch's RNG)."""
        mu, logvar = self.encoder(x)
        if self.training:
            eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
            return self.decoder(mu + eps * torch.exp(0.5 * logvar)), mu, logvar
        return self.decoder(mu), mu, logvar


def kl_divergence(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) summed over latent dims -> ``(batch,)``, in nats."""
    return -0.5 * (1 + logvar - mu.square() - logvar.exp()).sum(dim=1)


class DenoisingAE(nn.Module):
    """Target-domain DAE (Task 3): ``x (batch, T, F)`` -> ``(estimate (batch, T, F), z* (batch, L))``.

    Same encoder and decoder as the VAE; the bottleneck z* is the encoder's mean, without sampling.
    """

    def __init__(self, bands: int, frames: int = 21, latent_dim: int = 128, channels=(64, 128, 256),
                 hidden: int = 512):
        super().__init__()
        self.encoder = Encoder(bands, frames, latent_dim, channels, hidden)
        self.decoder = Decoder(bands, frames, latent_dim, channels, hidden)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        z, _ = self.encoder(x)
        return self.decoder(z), z


def copy_source_weights(source: VAE, target: Encoder | DenoisingAE) -> None:
    """Initialise ``target`` from ``source``: its encoder (a target ``Encoder``), or encoder and decoder (a
    ``DenoisingAE``). Parameters and batch-norm statistics are copied; shapes must match."""
    encoder = target if isinstance(target, Encoder) else target.encoder
    theirs, ours = source.encoder.convs[0][0].in_channels, encoder.convs[0][0].in_channels
    if theirs != ours:
        raise ValueError(f"cannot initialise a {ours}-band target model from a {theirs}-band source model")
    if isinstance(target, Encoder):
        target.load_state_dict(source.encoder.state_dict())
    else:
        target.encoder.load_state_dict(source.encoder.state_dict())
        target.decoder.load_state_dict(source.decoder.state_dict())


VOICE_LOSSES = ("l2", "l1")


def voice_representation(magnitude: Tensor) -> Tensor:
    """What the separation VAE and DAE take in and decode: ``log(1 + |STFT|)``, same shape."""
    return log_one_plus(magnitude.clamp_min(0))


def start_at_mean_voice(decoder: Decoder, stats: dict[str, Tensor] | None) -> None:
    """Set ``decoder``'s output bias to the training mean of the voice representation per bin (``stats["voice_mean"]``,
    separation only), so that an untrained decoder outputs the average voice instead of log(1 + |voice|) = 0, a
    silent voice that 120 Adam steps of lr 1e-3 move by at most 0.12 per bin."""
    if stats and "voice_mean" in stats:
        decoder.deconvs[-1].bias.data.copy_(stats["voice_mean"].float())


def voice_error(estimate: Tensor, target: Tensor, loss: str) -> Tensor:
    """Per-bin reconstruction loss of the separation models: ``|e|`` (l1) or ``e^2 / 2`` (l2), same shape."""
    if loss not in VOICE_LOSSES:
        raise ValueError(f"voice_loss={loss!r}: use one of {', '.join(VOICE_LOSSES)}")
    error = estimate - target
    return error.abs() if loss == "l1" else 0.5 * error.square()
