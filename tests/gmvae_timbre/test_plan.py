"""The plan verb's step: the paper preset's M_GMVAE at full size (a finite loss on a batch of its shapes), and
Adam's rate the same at every step and world size (the paper has no schedule)."""

import math

import torch

from common.lightning import load_config
from gmvae_timbre import plan
from gmvae_timbre.config import GmvaeConfig


def test_the_paper_step_is_full_size_and_its_rate_does_not_depend_on_step_or_ranks():
    paper = load_config(GmvaeConfig, "gmvae_timbre", "paper", [])
    spec = plan.spec(paper)
    assert (spec.batch_size, spec.max_steps) == (128, 20000)
    convs = [m for m in spec.parts["pitch encoder"].modules() if isinstance(m, torch.nn.Conv1d)]
    assert convs and all(c.out_channels == 512 for c in convs)
    loss = spec.loss(spec.make_batch(2))
    assert loss.ndim == 0 and math.isfinite(loss.item())
    rates = {tuple(plan.learning_rates(paper, step, world)) for step in (0, 10_000) for world in (1, 8)}
    assert rates == {(1e-4,)}
    default = load_config(GmvaeConfig, "gmvae_timbre", "default", [])
    assert plan.learning_rates(default, 0, 1) == [default.optim.lr, default.optim.prior_lr]
