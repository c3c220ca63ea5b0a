"""The LightningModule: MSE + L2 weight penalty (+ beta * KL for the beta-VAE), Adam; validation audio
examples (a val clip resynthesised from the reconstructed magnitudes with its own phase)."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor

from common.lightning.checkpoint import load_checkpoint
from realtime_ae.models import SpectralAutoencoder, kl_divergence, weight_penalty

KIND = "FrameAutoencoder"  # the checkpoint stamp's kind (the class name)


class FrameAutoencoder(pl.LightningModule):
    """``model``/``optim`` are the config sections as dicts; ``features`` the frame settings (sample_rate,
    n_fft, hop_length) that inference and the synthesizer need from a checkpoint alone."""

    def __init__(self, *, bins: int, model: dict, optim: dict, features: dict):
        super().__init__()
        self.save_hyperparameters()
        m = model
        self.net = SpectralAutoencoder(bins, m["hidden"], m["bottleneck"], m["activation"], m["augmentation"],
                                       m["skip"], m["variational"], m.get("init", "torch"))
        self.example = None  # (magnitudes (T, bins) with peaks applied, phase (T, bins)) of one val clip

    def losses(self, frames: Tensor, chroma: Tensor) -> dict[str, Tensor]:
        reconstruction, _, mu, logvar = self.net(frames, chroma)
        mse = F.mse_loss(reconstruction, frames)
        out = {"mse": mse, "l2": self.hparams.optim["l2"] * weight_penalty(self.net)}
        if self.hparams.optim.get("log_weight", 0.0):
            floor = self.hparams.optim.get("log_floor", 1e-3)
            out["log"] = F.mse_loss(torch.log(reconstruction + floor), torch.log(frames + floor))
            mse = mse + self.hparams.optim["log_weight"] * out["log"]
        if logvar is not None:
            out["kl"] = kl_divergence(mu, logvar).mean() / frames.shape[-1]
            out["loss"] = mse + self.hparams.model["beta"] * out["kl"] + out["l2"]
        else:
            out["loss"] = mse + out["l2"]
        return out

    def training_step(self, batch, batch_idx):
        losses = self.losses(*batch)
        for name, value in losses.items():
            self.log(f"train/{name}", value, prog_bar=name == "loss")
        return losses["loss"]

    def checkpoint_facts(self) -> dict:
        """What a verb needs to know before decoding: the latent size and the bottleneck's range."""
        m = self.hparams.model
        bounded = m["activation"] == "sigmoid" and not m["variational"]
        return {"bottleneck": m["bottleneck"], "latent_range": [0.0, 1.0] if bounded else None}

    def validation_step(self, batch, batch_idx):
        losses = self.losses(*batch)
        self.log("val/loss", losses["mse"], prog_bar=True, batch_size=len(batch[0]))

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.optim["lr"])

    @torch.no_grad()
    def reconstruct(self, frames: Tensor, chroma: Tensor) -> Tensor:
        """Deterministic reconstruction (VAE: decoded from the mean): (N, bins) -> (N, bins)."""
        mu, _ = self.net.encode(frames, chroma)
        return self.net.decoder(mu, chroma)

    def audio_examples(self) -> dict:
        if self.example is None:
            return {}
        from common.spectral import istft

        frames, peaks, chroma, phase = self.example
        f = self.hparams.features
        was_training = self.training
        self.eval()
        output = self.reconstruct(frames.to(self.device), chroma.to(self.device)).cpu() * peaks[:, None]
        self.train(was_training)
        audio = {}
        for name, mags in (("input", frames * peaks[:, None]), ("output", output)):
            wave = istft(torch.polar(mags.T.contiguous(), phase.T.contiguous()), f["n_fft"], f["hop_length"])
            audio[name] = (wave / max(1.0, float(wave.abs().max())), f["sample_rate"])
        return audio


def load_model(path: str | Path) -> FrameAutoencoder:
    """A trained model from ``last.ckpt``, in eval mode; one ``InputError`` line naming the file otherwise."""
    checkpoint = load_checkpoint(path, "realtime_ae", [KIND], hint="train one with `python -m realtime_ae train` "
                                 "(or `make eval-realtime`; `python -m realtime_ae models` lists the defaults) or "
                                 "pass ckpt=path/to/last.ckpt")
    module = FrameAutoencoder(**checkpoint["hyper_parameters"])
    module.load_state_dict(checkpoint["state_dict"])
    return module.eval()


def example_from(corpus, clip: dict) -> tuple:
    """(frames, peaks, one-hot chroma, phase) of a prepared clip, phase recomputed from its audio."""
    from common.audio import load_audio
    from realtime_ae import features

    ix = corpus.index
    audio = load_audio(Path(ix["corpus"]) / clip["name"], ix["sample_rate"])
    f = features.audio_frames(audio, ix["sample_rate"], ix["n_fft"], ix["hop_length"], ix["silence_db"])
    return f["frames"], f["peaks"], features.onehot(f["chroma"]), f["phase"]
