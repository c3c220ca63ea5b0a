"""LightningModules: :class:`TimbrePitchModule` (M_GMVAE or M_VAE) and :class:`NoteClassifier` (the CNN baseline).

The loss of M_GMVAE is the negative ELBO of the paper's equation (2) plus the instrument cross-entropy of
q(y_t|X) on the labelled notes, per note averaged over the batch::

    ||X - X~||^2 + KL(q(z_p|X) || p(z_p|y_p)) + E_q(y_t|X)[KL(q(z_t|X) || p(z_t|y_t))]
      + KL(q(y_t|X) || U(K)) + label_weight * CE(q(y_t|X), y_t)[labelled] + pitch_weight * CE(W z_p, y_p)

(summed squared error over the mel bins, a unit-variance Gaussian likelihood up to a factor and a constant).
M_VAE replaces the two timbre terms by KL(q(z_t|X) || N(0, I)) and the cross-entropy by that of its auxiliary
classifier on z_t. The last term (a linear pitch classifier on the sampled z_p, present when ``pitch_weight``
> 0) is not in the paper; the authors' released configuration has it. Both keep the feature settings and the
training log-mel range in their hyperparameters, so a checkpoint alone can read and render audio.
"""

from __future__ import annotations

import math

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor

from gmvae_timbre.models import CNNClassifier, TimbrePitchVAE, kl_gaussians
from gmvae_timbre.render import mel_to_audio

VAL_SEED = 12345


class _Module(pl.LightningModule):
    """Shared: Adam, logging, and the features/classes every checkpoint carries."""

    def configure_optimizers(self):
        """Adam at ``optim.lr``; the class means of the priors at ``optim.prior_lr`` when it is set. Fused (one
        kernel for all parameters: a sixth less time per step on one CPU thread than Adam's per-tensor loop)."""
        o = self.hparams.optim
        prior_lr = o.get("prior_lr")
        means = [p for name, p in self.named_parameters() if name.endswith("prior.means")]
        if prior_lr is None or not means:
            return torch.optim.Adam(self.parameters(), lr=o["lr"], betas=tuple(o["betas"]), fused=True)
        rest = [p for name, p in self.named_parameters() if not name.endswith("prior.means")]
        return torch.optim.Adam([{"params": rest}, {"params": means, "lr": prior_lr}], lr=o["lr"],
                                betas=tuple(o["betas"]), fused=True)

    def _log_all(self, split: str, values: dict[str, Tensor]) -> None:
        for name, value in values.items():
            self.log(f"{split}/{name}", value, prog_bar=name == "loss", sync_dist=split == "val")

    def training_step(self, batch, batch_idx):
        values = self.losses(*batch)
        self._log_all("train", values)
        return values["loss"]

    def validation_step(self, batch, batch_idx):
        """Validation draws its noise from its own seeded generator state (``VAL_SEED + batch_idx``), so how
        often it runs never changes the training's random draws, and its losses are the same on every run."""
        if batch_idx == 0:
            self._first_val = batch
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(VAL_SEED + batch_idx)
            self._log_all("val", self.losses(*batch))


class TimbrePitchModule(_Module):
    """M_GMVAE (``model["kind"] == "gmvae"``) or M_VAE on batches ``(x (B, F, T), pitch, instrument, labelled)``.

    ``pitches``: MIDI numbers of the M pitch classes; ``instruments``: names of the K classes; ``ranges``: each
    instrument's trained [lowest, highest] MIDI pitch; ``features``: ``data`` feature settings;
    ``log_min/log_max``: the training log-mel range used for scaling.
    """

    def __init__(self, *, pitches: list[int], instruments: list[str], features: dict, log_min: float,
                 log_max: float, model: dict, optim: dict, label_fraction: int,
                 ranges: dict[str, list[int]] | None = None):
        super().__init__()
        self.save_hyperparameters()
        m = model
        self.model = TimbrePitchVAE(m["kind"], features["n_mels"], features["frames"], len(pitches),
                                    len(instruments), m["latent_dim"], m["channels"], m["hidden"],
                                    m["pitch_log_sigma"], m["timbre_log_sigma"], m["classifier_hidden"],
                                    m.get("pitch_weight", 0.0) > 0)

    @property
    def kind(self) -> str:
        return self.hparams.model["kind"]

    @property
    def checkpoint_kind(self) -> str:
        return "M_GMVAE" if self.kind == "gmvae" else "M_VAE"

    def checkpoint_facts(self) -> dict:
        """Stamped into every checkpoint: what the verbs check a request against."""
        return {"label_fraction": self.hparams.label_fraction, "ranges": dict(self.hparams.ranges or {}),
                "instruments": list(self.hparams.instruments), "pitches": list(self.hparams.pitches)}

    def losses(self, x: Tensor, pitch: Tensor, instrument: Tensor, labelled: Tensor) -> dict[str, Tensor]:
        model, m = self.model, self.hparams.model
        out = model(x)
        rec = (out["reconstruction"] - x).square().flatten(1).sum(1).mean()
        kl_p = model.pitch_prior.kl(out["mu_p"], out["logvar_p"], pitch).mean()
        if self.kind == "gmvae":
            q = model.instrument_probabilities(out["mu_t"], out["logvar_t"], m["qy_samples"])
            log_q = q.clamp_min(1e-8).log()
            kl_t = (q * model.timbre_prior.kl_all(out["mu_t"], out["logvar_t"])).sum(-1).mean()
            kl_y = (q * (log_q + math.log(q.shape[-1]))).sum(-1).mean()
            label_log_probs = log_q
        else:
            q = model.classifier(out["mu_t"]).softmax(-1)
            kl_t = kl_gaussians(out["mu_t"], out["logvar_t"], torch.zeros_like(out["mu_t"]),
                                torch.zeros_like(out["logvar_t"])).mean()
            kl_y = torch.zeros((), device=x.device)
            label_log_probs = model.classifier(out["z_t"]).log_softmax(-1)
        ce = (F.nll_loss(label_log_probs[labelled], instrument[labelled]) if labelled.any()
              else torch.zeros((), device=x.device))
        pitch_ce = (F.cross_entropy(model.pitch_classifier(out["z_p"]), pitch) if m.get("pitch_weight", 0.0) > 0
                    else torch.zeros((), device=x.device))
        loss = rec + kl_p + kl_t + kl_y + m["label_weight"] * ce + m.get("pitch_weight", 0.0) * pitch_ce
        accuracy = (q.argmax(-1) == instrument).float().mean()
        return {"loss": loss, "rec": rec, "kl_pitch": kl_p, "kl_timbre": kl_t, "kl_y": kl_y, "ce": ce,
                "pitch_ce": pitch_ce, "instrument_acc": accuracy}

    def render(self, x: Tensor, n_iter: int = 32):
        """Scaled log mels ``(B, F, T)`` -> waveforms ``(B, samples)`` (see :func:`mel_to_audio`)."""
        return mel_to_audio(x, self.hparams.features, self.hparams.log_min, self.hparams.log_max, n_iter)

    def audio_examples(self) -> dict:
        """The first validation note and its reconstruction from the posterior means."""
        if not hasattr(self, "_first_val"):
            return {}
        x = self._first_val[0][:1]
        posterior = self.model.encode(x)
        reconstruction = self.model.decode(posterior["mu_t"], posterior["mu_p"])
        rate = self.hparams.features["sample_rate"]
        audio = self.render(torch.cat([x, reconstruction]))
        return {"val/input": (audio[0], rate), "val/reconstruction": (audio[1], rate)}

    def image_examples(self) -> dict:
        if not hasattr(self, "_first_val"):
            return {}
        x = self._first_val[0][:4]
        posterior = self.model.encode(x)
        reconstruction = self.model.decode(posterior["mu_t"], posterior["mu_p"])
        strip = torch.cat([torch.cat(list(reconstruction), -1), torch.cat(list(x), -1)], 0)
        return {"val/reconstruction_over_input": strip.detach().cpu().numpy()}


class NoteClassifier(_Module):
    """The CNN baseline predicting ``target`` ("instrument" or "pitch") from ``(x, pitch, instrument, labelled)``;
    the instrument CNN learns from the labelled notes only."""

    checkpoint_kind = "cnn"

    def __init__(self, *, target: str, classes: int, features: dict, model: dict, optim: dict,
                 label_fraction: int = 100, log_min: float = -1.0, log_max: float = 1.0):
        super().__init__()
        self.save_hyperparameters()
        self.network = CNNClassifier(features["n_mels"], features["frames"], classes, model["channels"],
                                     model["hidden"])

    def forward(self, x: Tensor) -> Tensor:
        return self.network(x)

    def losses(self, x: Tensor, pitch: Tensor, instrument: Tensor, labelled: Tensor) -> dict[str, Tensor]:
        label = instrument if self.hparams.target == "instrument" else pitch
        logits = self.network(x)
        rows = labelled if self.hparams.target == "instrument" and self.training else torch.ones_like(labelled)
        loss = F.cross_entropy(logits[rows], label[rows]) if rows.any() else logits.sum() * 0
        return {"loss": loss, "acc": (logits.argmax(-1) == label).float().mean()}
