"""The ELBO's pieces against closed forms and torch.distributions on hand-made Gaussians; q(y_t|X) is a
distribution; sampling and timbre transfer do what the paper's formulas say."""

import math

import pytest
import torch
from torch.distributions import Independent, Normal, kl_divergence

from gmvae_timbre.models import GaussianClasses, TimbrePitchVAE, kl_gaussians
from gmvae_timbre.module import TimbrePitchModule
from tests.project import THREADS

FEATURES = {"sample_rate": 22050, "seconds": 0.5, "n_fft": 2048, "hop_length": 256, "frames": 43, "n_mels": 256,
            "fmin": 27.5, "fmax": 11000.0, "log_floor": 1e-5}
MODEL = {"kind": "gmvae", "latent_dim": 4, "channels": 8, "hidden": 16, "pitch_log_sigma": -2.0,
         "timbre_log_sigma": 0.0, "classifier_hidden": 8, "label_weight": 1.0, "qy_samples": 1}


def diagonal(mu, logvar):
    return Independent(Normal(mu, (0.5 * logvar).exp()), 1)


def test_kl_equals_the_closed_form_on_hand_made_gaussians():
    # KL(N(1, 1) || N(0, 1)) = 1/2 per dimension; KL(N(0, 4) || N(0, 1)) = (4 - 1 - log 4) / 2
    assert kl_gaussians(torch.ones(3), torch.zeros(3), torch.zeros(3), torch.zeros(3)).item() == pytest.approx(1.5)
    wide = kl_gaussians(torch.zeros(1), torch.tensor([math.log(4.0)]), torch.zeros(1), torch.zeros(1))
    assert wide.item() == pytest.approx((4 - 1 - math.log(4)) / 2)
    # against torch.distributions on random diagonal Gaussians
    g = torch.Generator().manual_seed(0)
    mu_q, logvar_q, mu_p, logvar_p = (torch.randn(5, 16, generator=g) for _ in range(4))
    expected = kl_divergence(diagonal(mu_q, logvar_q), diagonal(mu_p, logvar_p))
    torch.testing.assert_close(kl_gaussians(mu_q, logvar_q, mu_p, logvar_p), expected)


def test_pitch_prior_has_standard_deviation_e_minus_2():
    prior = GaussianClasses(classes=3, latent_dim=2, log_sigma=-2.0)
    torch.testing.assert_close(prior.logvar, torch.full((2,), -4.0))
    mu, logvar = torch.tensor([[0.3, -0.2]]), torch.tensor([[-1.0, -3.0]])
    label = torch.tensor([1])
    # closed form with variance e^-4 written out
    var_p = math.exp(-4)
    m = prior.means[1].detach()
    expected = sum(0.5 * (math.log(var_p) - lv + (math.exp(lv) + (a - b) ** 2) / var_p - 1)
                   for a, lv, b in zip(mu[0].tolist(), logvar[0].tolist(), m.tolist()))
    assert prior.kl(mu, logvar, label).item() == pytest.approx(expected, rel=1e-5)
    draws = prior.sample(torch.zeros(20000, dtype=torch.long), 1.0, torch.Generator().manual_seed(1))
    assert draws.std(0).mean().item() == pytest.approx(math.exp(-2), rel=0.03)
    torch.testing.assert_close(prior.sample(torch.tensor([2]), 0.0), prior.means[2:3].detach())


def test_expected_timbre_kl_and_label_kl_match_their_definitions():
    torch.manual_seed(0)
    module = TimbrePitchModule(pitches=[60, 61], instruments=["a", "b", "c"], features=FEATURES, log_min=-10.0,
                               log_max=1.0, model=MODEL, optim={"lr": 1e-3, "betas": [0.9, 0.999]},
                               label_fraction=0)
    prior = module.model.timbre_prior
    mu, logvar = torch.randn(4, 4), torch.randn(4, 4)
    per_class = prior.kl_all(mu, logvar)
    for k in range(3):
        expected = kl_divergence(diagonal(mu, logvar), diagonal(prior.means[k].expand(4, 4), torch.zeros(4, 4)))
        torch.testing.assert_close(per_class[:, k], expected)
    # the module's loss terms recomputed by hand from the same forward pass (same random draws)
    x = torch.rand(4, 256, 43) * 2 - 1
    torch.manual_seed(3)
    losses = module.losses(x, torch.tensor([0, 1, 0, 1]), torch.tensor([0, 1, 2, 0]), torch.zeros(4, dtype=bool))
    torch.manual_seed(3)
    out = module.model(x)
    q = module.model.instrument_probabilities(out["mu_t"], out["logvar_t"])
    kl_t = (q * prior.kl_all(out["mu_t"], out["logvar_t"])).sum(-1).mean()
    kl_y = kl_divergence(torch.distributions.Categorical(q), torch.distributions.Categorical(torch.ones(3) / 3))
    torch.testing.assert_close(losses["kl_timbre"], kl_t)
    torch.testing.assert_close(losses["kl_y"], kl_y.mean())
    assert losses["ce"].item() == 0.0  # nothing labelled


@pytest.mark.parametrize("kind", ["gmvae", "vae"])
def test_q_y_given_x_is_a_distribution_over_instruments(kind):
    torch.manual_seed(0)
    model = TimbrePitchVAE(kind, 256, 43, pitches=5, instruments=7, latent_dim=4, channels=8, hidden=16)
    model.eval()
    posterior = model.encode(torch.rand(6, 256, 43) * 2 - 1)
    q = model.instrument_probabilities(posterior["mu_t"], posterior["logvar_t"], samples=8)
    assert q.shape == (6, 7)
    assert (q >= 0).all()
    torch.testing.assert_close(q.sum(-1), torch.ones(6))


def test_p_y_given_z_is_bayes_rule_with_a_uniform_prior():
    prior = GaussianClasses(classes=4, latent_dim=3, log_sigma=0.0)
    z = torch.randn(5, 3)
    log_likelihood = torch.stack([diagonal(prior.means[k].detach(), torch.zeros(3)).log_prob(z) for k in range(4)], -1)
    torch.testing.assert_close(prior.posterior(z), log_likelihood.softmax(-1))
    # a code sitting on one of well-separated means is assigned to that component
    with torch.no_grad():
        prior.means.copy_(5 * torch.eye(4, 3))
    assert prior.posterior(prior.means.detach()).argmax(-1).tolist() == [0, 1, 2, 3]


def test_transfer_with_alpha_zero_reproduces_the_reconstruction():
    torch.manual_seed(0)
    model = TimbrePitchVAE("gmvae", 256, 43, pitches=5, instruments=4, latent_dim=4, channels=8, hidden=16).eval()
    x = torch.rand(3, 256, 43) * 2 - 1
    posterior = model.encode(x)
    reconstruction = model.decode(posterior["mu_t"], posterior["mu_p"])
    source, target = torch.tensor([0, 1, 2]), torch.tensor([3, 3, 0])
    torch.testing.assert_close(model.transfer(x, source, target, 0.0), reconstruction)
    moved = model.transfer(x, source, target, 1.0)
    shift = model.timbre_prior.means[target] - model.timbre_prior.means[source]
    torch.testing.assert_close(moved, model.decode(posterior["mu_t"] + shift, posterior["mu_p"]))
    assert not torch.allclose(moved, reconstruction)


def test_training_stopped_and_resumed_ends_with_the_weights_of_one_uninterrupted_run(tiny):
    """ckpt_path=last continues the same run: data order (across later epochs), random state (the
    reparameterisation noise), optimizer, batch norm. Stopped right after an epoch's last batch (2 batches an
    epoch here), the hardest place (the toy task's fault test covers mid-epoch too)."""
    import torch

    args = ["model.kind=gmvae", "data.label_fraction=50", "trainer.deterministic=true", "logger.wandb=false"]
    assert tiny.run("train", *args, "run.name=straight", "trainer.max_steps=30") == 0
    assert tiny.run("train", *args, "run.name=split", "trainer.max_steps=12") == 0
    assert tiny.run("train", *args, "run.name=split", "trainer.max_steps=30", "ckpt_path=last") == 0
    runs = tiny.root / "runs" / "gmvae_timbre"
    straight, split = (torch.load(runs / name / f"gmvae-N50-seed0-threads{THREADS}" / "checkpoints" / "last.ckpt",
                                  weights_only=False) for name in ("straight", "split"))
    assert straight["global_step"] == split["global_step"] == 30 and straight["epoch"] == split["epoch"] == 14
    for key, value in straight["state_dict"].items():
        assert torch.equal(split["state_dict"][key], value), key


def test_pitch_classifier_term_is_the_cross_entropy_of_a_linear_layer_on_the_sampled_z_p():
    torch.manual_seed(0)
    module = TimbrePitchModule(pitches=[60, 61, 62], instruments=["a", "b"], features=FEATURES, log_min=-10.0,
                               log_max=1.0, model={**MODEL, "pitch_weight": 2.0},
                               optim={"lr": 1e-3, "betas": [0.9, 0.999]}, label_fraction=0)
    x, pitch = torch.rand(4, 256, 43) * 2 - 1, torch.tensor([0, 1, 2, 1])
    torch.manual_seed(3)
    losses = module.losses(x, pitch, torch.tensor([0, 1, 0, 1]), torch.zeros(4, dtype=bool))
    torch.manual_seed(3)
    out = module.model(x)
    expected = torch.nn.functional.cross_entropy(module.model.pitch_classifier(out["z_p"]), pitch)
    torch.testing.assert_close(losses["pitch_ce"], expected)
    rest = losses["rec"] + losses["kl_pitch"] + losses["kl_timbre"] + losses["kl_y"]
    torch.testing.assert_close(losses["loss"], rest + 2.0 * expected)
    plain = TimbrePitchModule(pitches=[60, 61, 62], instruments=["a", "b"], features=FEATURES, log_min=-10.0,
                              log_max=1.0, model=MODEL, optim={"lr": 1e-3, "betas": [0.9, 0.999]}, label_fraction=0)
    assert not hasattr(plain.model, "pitch_classifier")  # the paper's loss: no pitch classifier, no term
    assert plain.losses(x, pitch, torch.tensor([0, 1, 0, 1]), torch.zeros(4, dtype=bool))["pitch_ce"].item() == 0.0
