"""Using a trained model on notes: controllable synthesis from the mixture components, timbre transfer by
mixture-mean arithmetic and interpolation in the timbre space. Inputs are scaled log mels ``(B, F, T)``;
outputs are mono float32 waveforms at the model's sample rate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from common.errors import InputError
from gmvae_timbre import data
from gmvae_timbre.module import TimbrePitchModule


def instrument_index(module: TimbrePitchModule, name: str) -> int:
    names = module.hparams.instruments
    lowered = [n.lower() for n in names]
    if name.lower() not in lowered:
        raise InputError(f"instrument {name!r} is not one of the model's classes: {', '.join(names)}")
    return lowered.index(name.lower())


def pitch_index(module: TimbrePitchModule, midi: int) -> int:
    pitches = module.hparams.pitches
    if midi not in pitches:
        raise InputError(f"pitch {midi} is not one of the model's {len(pitches)} pitch classes (MIDI "
                         f"{pitches[0]}..{pitches[-1]}): {', '.join(map(str, pitches))}")
    return pitches.index(midi)


def read_input(module: TimbrePitchModule, path: str | Path) -> torch.Tensor:
    """A note file -> scaled log mel ``(1, F, T)``; missing, unreadable, silent or too short is one line."""
    if not Path(path).is_file():
        raise InputError(f"{path}: no such file; give a single-note audio file (wav/flac/ogg/mp3)")
    f = module.hparams.features
    log_mel = data.read_note(path, f, min_seconds=(f["frames"] - 1) * f["hop_length"] / f["sample_rate"])
    return torch.from_numpy(data.scale(log_mel, module.hparams.log_min, module.hparams.log_max)).float()[None]


def require_mixture(module: TimbrePitchModule) -> None:
    if module.kind != "gmvae":
        raise InputError("this checkpoint is an M_VAE (isotropic timbre prior, no instrument components); pass "
                         "an M_GMVAE checkpoint (model.kind=gmvae) trained with instrument labels")


@torch.no_grad()
def sample_mels(module: TimbrePitchModule, instrument: torch.Tensor, pitch: torch.Tensor, weight: float,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """z_t ~ N(mu_instrument, w I), z_p ~ N(mu_pitch, w e^-4 I), decoded: class indices ``(B,)`` -> ``(B, F, T)``."""
    require_mixture(module)
    model = module.model
    z_t = model.timbre_prior.sample(instrument, weight, generator)
    z_p = model.pitch_prior.sample(pitch, weight, generator)
    return model.decode(z_t, z_p)


def synthesize(module: TimbrePitchModule, instrument: str, midi: int, weight: float = 0.0, seed: int = 0,
               n_iter: int = 32) -> np.ndarray:
    k, m = instrument_index(module, instrument), pitch_index(module, midi)
    if weight < 0:
        raise InputError(f"--weight {weight}: the variance multiplier w must be >= 0")
    mel = sample_mels(module, torch.tensor([k]), torch.tensor([m]), weight, torch.Generator().manual_seed(seed))
    return module.render(mel, n_iter)[0]


@torch.no_grad()
def transfer_mels(module: TimbrePitchModule, x: torch.Tensor, source: torch.Tensor, target: torch.Tensor,
                  alpha: float, snap_pitch: bool = False) -> torch.Tensor:
    """Decode ``[mu_t + alpha (mu_target - mu_source), mu_p]`` (``snap_pitch``: the mean of the pitch class read
    from ``mu_p``): ``(B, F, T)`` -> ``(B, F, T)``."""
    require_mixture(module)
    return module.model.transfer(x, source, target, alpha, snap_pitch)


@torch.no_grad()
def read_pitch(module: TimbrePitchModule, x: torch.Tensor) -> list[int]:
    """The MIDI pitch the model reads from each note ``(B, F, T)`` (the class ``snap_pitch`` decodes)."""
    return [module.hparams.pitches[k] for k in module.model.read_pitch(module.model.encode(x)["mu_p"]).tolist()]


@torch.no_grad()
def instrument_posterior(module: TimbrePitchModule, x: torch.Tensor) -> torch.Tensor:
    """p(y_t|z_t) at the posterior mean of z_t (deterministic): ``(B, K)``."""
    require_mixture(module)
    return module.model.timbre_prior.posterior(module.model.encode(x)["mu_t"])


def inferred_instrument(module: TimbrePitchModule, x: torch.Tensor) -> torch.Tensor:
    """The source instrument ``transfer`` infers: argmax of :func:`instrument_posterior`, ``(B,)``."""
    return instrument_posterior(module, x).argmax(-1)


def transfer(module: TimbrePitchModule, x: torch.Tensor, to: str, alpha: float, source: str | None = None,
             n_iter: int = 32, snap_pitch: bool = False) -> np.ndarray:
    require_mixture(module)
    target = torch.tensor([instrument_index(module, to)])
    source_index = torch.tensor([instrument_index(module, source)]) if source else inferred_instrument(module, x)
    return module.render(transfer_mels(module, x, source_index, target, alpha, snap_pitch), n_iter)[0]


@torch.no_grad()
def interpolate(module: TimbrePitchModule, a: torch.Tensor, b: torch.Tensor, steps: int,
                n_iter: int = 32) -> np.ndarray:
    """``steps`` notes decoding ``[(1 - s) mu_t(a) + s mu_t(b), mu_p(a)]`` for s from 0 to 1: ``(steps, samples)``."""
    pa, pb = module.model.encode(a), module.model.encode(b)
    s = torch.linspace(0, 1, steps)[:, None]
    z_t = (1 - s) * pa["mu_t"] + s * pb["mu_t"]
    mels = module.model.decode(z_t, pa["mu_p"].expand(steps, -1))
    return module.render(mels, n_iter)
