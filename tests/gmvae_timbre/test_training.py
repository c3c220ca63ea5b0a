"""The semi-supervised term does its job: with every instrument label (N = 100) the instrument accuracy of
q(y_t|X) on a tiny set rises far above that of the same model trained without labels (N = 0). And
``optim.prior_lr`` lets the class means of the priors move in a short run, where Adam at ``optim.lr`` cannot."""

import numpy as np
import torch
from omegaconf import OmegaConf

from gmvae_timbre import data
from gmvae_timbre.module import TimbrePitchModule

STEPS = 60


def train(cfg, notes: data.SolNotes, percent: int, steps: int = STEPS, **optim) -> TimbrePitchModule:
    torch.manual_seed(0)
    labelled = torch.full((int(notes.train.sum()),), percent == 100)
    x = torch.from_numpy(notes.x[notes.train])
    pitch, instrument = torch.from_numpy(notes.pitch[notes.train]), torch.from_numpy(notes.instrument[notes.train])
    module = TimbrePitchModule(pitches=notes.pitches, instruments=notes.instruments,
                               features=data.feature_settings(cfg.data), log_min=notes.log_min,
                               log_max=notes.log_max, model=OmegaConf.to_container(cfg.model),
                               optim={**OmegaConf.to_container(cfg.optim), **optim}, label_fraction=percent)
    optimizer = module.configure_optimizers()
    generator = torch.Generator().manual_seed(0)
    for _ in range(steps):
        rows = torch.randperm(len(x), generator=generator)[:64]
        loss = module.losses(x[rows], pitch[rows], instrument[rows], labelled[rows])["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return module.eval()


def score(module: TimbrePitchModule, notes: data.SolNotes) -> float:
    x, instrument = torch.from_numpy(notes.x[notes.train]), torch.from_numpy(notes.instrument[notes.train])
    with torch.no_grad():
        posterior = module.model.encode(x)
        q = module.model.instrument_probabilities(posterior["mu_t"], posterior["logvar_t"], samples=16)
    np.testing.assert_allclose(q.sum(-1).numpy(), 1.0, rtol=1e-5)
    return float((q.argmax(-1) == instrument).float().mean())


def test_labels_raise_the_instrument_accuracy_of_q_y_given_x(tiny):
    cfg = tiny.config()  # the default preset's label_weight
    notes = data.load_notes(cfg, 100)
    supervised, unsupervised = score(train(cfg, notes, 100), notes), score(train(cfg, notes, 0), notes)
    chance = 1 / len(notes.instruments)
    assert supervised > 0.4, (supervised, unsupervised)
    assert supervised > unsupervised + 0.3, (supervised, unsupervised)
    assert unsupervised < 3 * chance  # without labels the components are not instrument-aligned


def test_prior_lr_lets_the_class_means_move_where_lr_alone_cannot(tiny):
    cfg = tiny.config("optim.lr=1e-3")
    notes = data.load_notes(cfg, 100)
    module = train(cfg, notes, 100, steps=0, prior_lr=1e-2)
    groups = module.configure_optimizers().param_groups
    means = {id(module.model.timbre_prior.means), id(module.model.pitch_prior.means)}
    assert [g["lr"] for g in groups] == [1e-3, 1e-2]
    assert {id(p) for p in groups[1]["params"]} == means
    assert len(groups[0]["params"]) + 2 == len(list(module.parameters()))
    start = module.model.timbre_prior.means.detach().clone()
    moved = {prior_lr: float((train(cfg, notes, 100, steps=40, prior_lr=prior_lr).model.timbre_prior.means.detach()
                              - start).norm(dim=1).mean()) for prior_lr in (None, 1e-2)}
    # Adam moves a weight by about lr a step at most: 40 steps of 1e-3 over 16 dimensions stay under 0.16
    assert moved[None] < 40 * 1e-3 * 4 * 1.1 and moved[1e-2] > 4 * moved[None], moved
