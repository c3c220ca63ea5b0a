"""Plain nn.Modules: the shared encoder, one WaveNet decoder per domain and the domain-confusion network.

Audio is 8-bit mu-law codes ``(batch, samples)`` (``common.mulaw``); latents are ``(batch, latent, frames)``
with one frame per ``pool`` samples.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from common.wavenet import WaveNetDecoder, WaveNetEncoder


class DomainConfusion(nn.Module):
    """Domain classifier on latents: conv-ELU-conv-ELU-conv to ``n_domains`` logits, averaged over time.

    (B, latent, frames) -> (B, n_domains).
    """

    def __init__(self, latent_channels: int, n_domains: int, channels: int = 100, kernel_size: int = 1):
        super().__init__()
        pad = (kernel_size - 1) // 2
        self.net = nn.Sequential(
            nn.Conv1d(latent_channels, channels, kernel_size, padding=pad), nn.ELU(),
            nn.Conv1d(channels, channels, kernel_size, padding=pad), nn.ELU(),
            nn.Conv1d(channels, n_domains, kernel_size, padding=pad))

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        return self.net(latent).mean(-1)


class TranslationNet(nn.Module):
    """Shared encoder E, decoders D^j (``decoders[j]`` for ``domains[j]``) and confusion net C.

    ``model`` holds the keys of ``ModelConfig``; ``domains`` the names of the training domains in order.
    """

    def __init__(self, model: dict, domains: list[str]):
        super().__init__()
        self.model_args, self.domains = dict(model), list(domains)
        m = self.model_args
        self.encoder = WaveNetEncoder(m["encoder_blocks"], m["encoder_layers"], m["encoder_channels"],
                                      m["latent_channels"], m["encoder_kernel"], m["pool"], m["n_classes"])
        self.decoders = nn.ModuleList(self.new_decoder() for _ in self.domains)
        self.confusion = DomainConfusion(m["latent_channels"], len(self.domains), m["confusion_channels"],
                                         m["confusion_kernel"])

    def new_decoder(self) -> WaveNetDecoder:
        m = self.model_args
        return WaveNetDecoder(m["decoder_blocks"], m["decoder_layers"], m["residual_channels"], m["skip_channels"],
                              m["latent_channels"], m["n_classes"], 2, m["pool"])

    def add_domain(self, name: str) -> int:
        """Append a fresh decoder for ``name`` (the confusion net keeps its k outputs); returns its index."""
        self.domains.append(name)
        self.decoders.append(self.new_decoder())
        return len(self.domains) - 1

    def encode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes (B, T) -> latent (B, latent, T // pool)."""
        return self.encoder(codes)

    def reconstruction_loss(self, latent: torch.Tensor, target: torch.Tensor, domain: int) -> torch.Tensor:
        """Mean cross-entropy (nats per sample) of decoder ``domain`` teacher-forced on ``target`` (B, T)."""
        n = latent.shape[-1] * self.model_args["pool"]
        target = target[:, :n]
        return F.cross_entropy(self.decoders[domain](target, latent), target)

    def autoencoder_loss(self, latent: torch.Tensor, target: torch.Tensor, domain: int, confusion_weight: float
                         ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Eq. (1) for one domain: ``CE_recon - lambda * CE(C(latent), domain)``; returns (loss, recon,
        adversarial CE)."""
        labels = torch.full((latent.shape[0],), domain, device=latent.device)
        adversarial = F.cross_entropy(self.confusion(latent), labels)
        recon = self.reconstruction_loss(latent, target, domain)
        return recon - confusion_weight * adversarial, recon, adversarial
