"""The semi-supervised term does its job: with every instrument label (N = 100) the instrument accuracy of
q(y_t|X) on a tiny set rises far above that of the same model trained without labels (N = 0)."""

import numpy as np
import torch
from omegaconf import OmegaConf

from gmvae_timbre import data
from gmvae_timbre.module import TimbrePitchModule

STEPS = 60


def train_and_score(cfg, notes: data.SolNotes, percent: int) -> float:
    torch.manual_seed(0)
    labelled = torch.full((int(notes.train.sum()),), percent == 100)
    x = torch.from_numpy(notes.x[notes.train])
    pitch, instrument = torch.from_numpy(notes.pitch[notes.train]), torch.from_numpy(notes.instrument[notes.train])
    module = TimbrePitchModule(pitches=notes.pitches, instruments=notes.instruments,
                               features=data.feature_settings(cfg.data), log_min=notes.log_min,
                               log_max=notes.log_max, model=OmegaConf.to_container(cfg.model),
                               optim=OmegaConf.to_container(cfg.optim), label_fraction=percent)
    optimizer = module.configure_optimizers()
    generator = torch.Generator().manual_seed(0)
    for _ in range(STEPS):
        rows = torch.randperm(len(x), generator=generator)[:64]
        loss = module.losses(x[rows], pitch[rows], instrument[rows], labelled[rows])["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    module.eval()
    with torch.no_grad():
        posterior = module.model.encode(x)
        q = module.model.instrument_probabilities(posterior["mu_t"], posterior["logvar_t"], samples=16)
    np.testing.assert_allclose(q.sum(-1).numpy(), 1.0, rtol=1e-5)
    return float((q.argmax(-1) == instrument).float().mean())


def test_labels_raise_the_instrument_accuracy_of_q_y_given_x(tiny):
    cfg = tiny.config()  # the default preset's label_weight
    notes = data.load_notes(cfg, 100)
    supervised, unsupervised = train_and_score(cfg, notes, 100), train_and_score(cfg, notes, 0)
    chance = 1 / len(notes.instruments)
    assert supervised > 0.4, (supervised, unsupervised)
    assert supervised > unsupervised + 0.3, (supervised, unsupervised)
    assert unsupervised < 3 * chance  # without labels the components are not instrument-aligned
