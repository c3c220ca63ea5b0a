"""Plain nn.Modules: the pitch/timbre encoders, the shared decoder, the Gaussian priors, q(y_t|X), the M_VAE
auxiliary classifier and the CNN baseline classifier.

Inputs are scaled log mels ``(batch, F, T)`` with the F mel bands as channels of 1-D convolutions over time.
Latents are ``(batch, L)``; log variances are natural logs of variances.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def kl_gaussians(mu_q: Tensor, logvar_q: Tensor, mu_p: Tensor, logvar_p: Tensor) -> Tensor:
    """KL(N(mu_q, diag e^logvar_q) || N(mu_p, diag e^logvar_p)) summed over the last axis (broadcasting)."""
    return 0.5 * (logvar_p - logvar_q + (logvar_q.exp() + (mu_q - mu_p).square()) / logvar_p.exp() - 1).sum(-1)


def log_normal(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """log N(z; mu, diag e^logvar) summed over the last axis (broadcasting)."""
    return -0.5 * (math.log(2 * math.pi) + logvar + (z - mu).square() / logvar.exp()).sum(-1)


def xavier_init(module: nn.Module) -> None:
    """Xavier-uniform weights and zero biases for every conv and linear layer."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv1d, nn.Linear)):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)


class ConvTrunk(nn.Module):
    """Conv1d(F -> C, k3) BN ReLU, Conv1d(C -> C, k3) BN ReLU, FC(C * T -> hidden) BN ReLU:
    ``(B, F, T)`` -> ``(B, hidden)``."""

    def __init__(self, n_mels: int, frames: int, channels: int, hidden: int):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv1d(n_mels, channels, 3, padding=1), nn.BatchNorm1d(channels), nn.ReLU(),
            nn.Conv1d(channels, channels, 3, padding=1), nn.BatchNorm1d(channels), nn.ReLU(),
            nn.Flatten(), nn.Linear(channels * frames, hidden), nn.BatchNorm1d(hidden), nn.ReLU())

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


class GaussianEncoder(nn.Module):
    """The trunk then a Gaussian layer: ``(B, F, T)`` -> mean and log variance, each ``(B, L)``."""

    def __init__(self, n_mels: int, frames: int, channels: int, hidden: int, latent_dim: int):
        super().__init__()
        self.trunk = ConvTrunk(n_mels, frames, channels, hidden)
        self.gaussian = nn.Linear(hidden, 2 * latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mu, logvar = self.gaussian(self.trunk(x)).chunk(2, dim=-1)
        return mu, logvar


class Decoder(nn.Module):
    """``[z_t, z_p] (B, 2L)`` -> FC hidden BN ReLU -> FC C * T BN ReLU -> Conv1d(C, C) BN ReLU ->
    Conv1d(C, F) -> tanh: ``(B, F, T)`` in [-1, 1]."""

    def __init__(self, n_mels: int, frames: int, channels: int, hidden: int, latent_dim: int):
        super().__init__()
        self.channels, self.frames = channels, frames
        self.dense = nn.Sequential(
            nn.Linear(2 * latent_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
            nn.Linear(hidden, channels * frames), nn.BatchNorm1d(channels * frames), nn.ReLU())
        self.convs = nn.Sequential(
            nn.Conv1d(channels, channels, 3, padding=1), nn.BatchNorm1d(channels), nn.ReLU(),
            nn.Conv1d(channels, n_mels, 3, padding=1), nn.Tanh())

    def forward(self, z: Tensor) -> Tensor:
        return self.convs(self.dense(z).view(-1, self.channels, self.frames))


class GaussianClasses(nn.Module):
    """A Gaussian per class with learnable, Xavier-initialised means ``(classes, L)`` and one constant standard
    deviation ``e^log_sigma``: the pitch prior p(z_p|y_p) or the timbre mixture p(z_t|y_t)."""

    def __init__(self, classes: int, latent_dim: int, log_sigma: float):
        super().__init__()
        self.means = nn.Parameter(nn.init.xavier_uniform_(torch.empty(classes, latent_dim)))
        self.register_buffer("logvar", torch.full((latent_dim,), 2.0 * log_sigma))

    def kl(self, mu: Tensor, logvar: Tensor, label: Tensor) -> Tensor:
        """KL(q(z|X) || p(z|y = label)) per item ``(B,)``."""
        return kl_gaussians(mu, logvar, self.means[label], self.logvar)

    def kl_all(self, mu: Tensor, logvar: Tensor) -> Tensor:
        """KL(q(z|X) || p(z|y = k)) for every class ``(B, K)``."""
        return kl_gaussians(mu[:, None], logvar[:, None], self.means, self.logvar)

    def posterior(self, z: Tensor) -> Tensor:
        """p(y|z) under a uniform p(y): ``z (..., L)`` -> probabilities ``(..., K)``."""
        return log_normal(z[..., None, :], self.means, self.logvar).softmax(-1)

    def sample(self, label: Tensor, weight: float, generator: torch.Generator | None = None) -> Tensor:
        """z ~ N(mu_label, weight * sigma^2) per label ``(B,)`` -> ``(B, L)``."""
        mean = self.means[label]
        noise = torch.randn(mean.shape, generator=generator).to(mean)
        return mean + math.sqrt(weight) * (0.5 * self.logvar).exp() * noise


def reparameterize(mu: Tensor, logvar: Tensor) -> Tensor:
    return mu + (0.5 * logvar).exp() * torch.randn_like(mu)


class TimbrePitchVAE(nn.Module):
    """Pitch and timbre encoders, the shared decoder and the pitch prior (M classes, sigma e^-2).

    ``kind="gmvae"`` (M_GMVAE) adds the K-component timbre mixture (sigma e^0) and q(y_t|X);
    ``kind="vae"`` (M_VAE) keeps p(z_t) = N(0, I) and adds the auxiliary instrument classifier on z_t
    (two FC layers of ``classifier_hidden`` with ReLU). ``pitch_classifier``: both add a linear layer from z_p
    to the M pitch logits (``pitch_logits``).
    """

    def __init__(self, kind: str, n_mels: int, frames: int, pitches: int, instruments: int, latent_dim: int = 16,
                 channels: int = 512, hidden: int = 512, pitch_log_sigma: float = -2.0,
                 timbre_log_sigma: float = 0.0, classifier_hidden: int = 128, pitch_classifier: bool = False):
        super().__init__()
        if kind not in ("gmvae", "vae"):
            raise ValueError(f"kind must be 'gmvae' or 'vae', got {kind!r}")
        self.kind = kind
        self.pitch_encoder = GaussianEncoder(n_mels, frames, channels, hidden, latent_dim)
        self.timbre_encoder = GaussianEncoder(n_mels, frames, channels, hidden, latent_dim)
        self.decoder = Decoder(n_mels, frames, channels, hidden, latent_dim)
        xavier_init(self)
        self.pitch_prior = GaussianClasses(pitches, latent_dim, pitch_log_sigma)
        if kind == "gmvae":
            self.timbre_prior = GaussianClasses(instruments, latent_dim, timbre_log_sigma)
        else:
            self.classifier = nn.Sequential(
                nn.Linear(latent_dim, classifier_hidden), nn.ReLU(), nn.Linear(classifier_hidden, classifier_hidden),
                nn.ReLU(), nn.Linear(classifier_hidden, instruments))
            xavier_init(self.classifier)
        if pitch_classifier:
            self.pitch_classifier = nn.Linear(latent_dim, pitches)
            xavier_init(self.pitch_classifier)

    def encode(self, x: Tensor) -> dict[str, Tensor]:
        """``(B, F, T)`` -> posterior means and log variances ``mu_t, logvar_t, mu_p, logvar_p`` ``(B, L)``."""
        mu_t, logvar_t = self.timbre_encoder(x)
        mu_p, logvar_p = self.pitch_encoder(x)
        return {"mu_t": mu_t, "logvar_t": logvar_t, "mu_p": mu_p, "logvar_p": logvar_p}

    def decode(self, z_t: Tensor, z_p: Tensor) -> Tensor:
        return self.decoder(torch.cat([z_t, z_p], dim=-1))

    def instrument_probabilities(self, mu_t: Tensor, logvar_t: Tensor, samples: int = 1) -> Tensor:
        """q(y_t|X) = E_q(z_t|X)[p(y_t|z_t)] from ``samples`` draws of z_t (M_GMVAE), or the auxiliary
        classifier's softmax on the posterior mean (M_VAE): ``(B, K)``, rows sum to one."""
        if self.kind == "vae":
            return self.classifier(mu_t).softmax(-1)
        z = mu_t + (0.5 * logvar_t).exp() * torch.randn((samples, *mu_t.shape), device=mu_t.device)
        return self.timbre_prior.posterior(z).mean(0)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """Encode, sample z_t and z_p, decode: the posterior parameters plus ``z_t, z_p, reconstruction``."""
        out = self.encode(x)
        out["z_t"] = reparameterize(out["mu_t"], out["logvar_t"])
        out["z_p"] = reparameterize(out["mu_p"], out["logvar_p"])
        out["reconstruction"] = self.decode(out["z_t"], out["z_p"])
        return out

    def transfer(self, x: Tensor, source: Tensor, target: Tensor, alpha: float, snap_pitch: bool = False) -> Tensor:
        """Decode ``[mu_t + alpha (mu_target - mu_source), mu_p]`` (M_GMVAE): ``(B, F, T)``. ``snap_pitch``
        decodes the mean of the pitch class p(y_p|mu_p) reads instead of ``mu_p`` itself."""
        posterior = self.encode(x)
        means = self.timbre_prior.means
        z_p = self.pitch_prior.means[self.read_pitch(posterior["mu_p"])] if snap_pitch else posterior["mu_p"]
        return self.decode(posterior["mu_t"] + alpha * (means[target] - means[source]), z_p)

    def read_pitch(self, mu_p: Tensor) -> Tensor:
        """The pitch class the model reads from pitch codes ``(B, L)``: argmax of p(y_p|z_p) -> ``(B,)``."""
        return self.pitch_prior.posterior(mu_p).argmax(-1)


class CNNClassifier(nn.Module):
    """The baseline: the encoder's trunk then a linear layer to ``classes`` logits: ``(B, F, T)`` -> ``(B, C)``."""

    def __init__(self, n_mels: int, frames: int, classes: int, channels: int = 512, hidden: int = 512):
        super().__init__()
        self.trunk = ConvTrunk(n_mels, frames, channels, hidden)
        self.head = nn.Linear(hidden, classes)
        xavier_init(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.trunk(x))
