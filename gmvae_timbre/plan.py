"""``python -m gmvae_timbre plan``: one training step of the preset's M_GMVAE for :mod:`common.plan`.

The paper gives no parameter counts. Its learning rate is constant (Adam 1e-4, no schedule), so the rate at
the preset's last step is ``optim.lr`` at any world size (:func:`learning_rates`); the class means of the
priors take ``optim.prior_lr`` when it is set."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from common.plan import PlanSpec, run_plan
from gmvae_timbre import data
from gmvae_timbre.module import TimbrePitchModule

PAPER_PITCHES, PAPER_INSTRUMENTS = 82, 12  # M and K of the paper's SOL subset


def module_of(cfg: DictConfig, pitches: int = PAPER_PITCHES, instruments: int = PAPER_INSTRUMENTS):
    features = data.feature_settings(cfg.data)
    return TimbrePitchModule(pitches=list(range(pitches)), instruments=[f"i{k}" for k in range(instruments)],
                             features=features, log_min=-10.0, log_max=1.0, model=OmegaConf.to_container(cfg.model),
                             optim=OmegaConf.to_container(cfg.optim), label_fraction=cfg.data.label_fraction)


def learning_rates(cfg: DictConfig, step: int, world: int) -> list[float]:
    """The Adam rate of every parameter group at ``step`` on ``world`` ranks: constant in steps and samples."""
    del step, world  # no schedule: the rate depends on neither
    return [group["lr"] for group in module_of(cfg, 4, 3).configure_optimizers().param_groups]


def spec(cfg: DictConfig) -> PlanSpec:
    module = module_of(cfg)
    f = data.feature_settings(cfg.data)

    def batch(n: int):
        g = torch.Generator().manual_seed(0)
        return (torch.rand(n, f["n_mels"], f["frames"], generator=g) * 2 - 1,
                torch.randint(0, PAPER_PITCHES, (n,), generator=g),
                torch.randint(0, PAPER_INSTRUMENTS, (n,), generator=g), torch.ones(n, dtype=torch.bool))

    def loader():
        d = cfg.data
        root = Path(d.sol) if d.sol else Path(d.root) / "sol" / "TinySOL" if d.synthetic else Path(d.root)
        if not data.cache_path(cfg, root).is_file():
            return None  # not prepared: `prepare` first
        return data.SolDataModule(data.load_notes(cfg), d, cfg.run.seed).train_dataloader()

    return PlanSpec(model=module, make_batch=batch, loss=lambda b: module.losses(*b)["loss"],
                    batch_size=cfg.data.batch_size, max_steps=cfg.trainer.max_steps, loader=loader,
                    parts={"pitch encoder": module.model.pitch_encoder, "timbre encoder": module.model.timbre_encoder,
                           "decoder": module.model.decoder},
                    notes=f"M = {PAPER_PITCHES} pitches, K = {PAPER_INSTRUMENTS} instruments (the paper's SOL subset); "
                          f"Adam at a constant {np.format_float_positional(cfg.optim.lr)} (no schedule).")


def plan(cfg: DictConfig, args: argparse.Namespace) -> None:
    run_plan(spec(cfg), cfg, args)
