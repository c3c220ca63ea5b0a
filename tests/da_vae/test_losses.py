"""da_vae training: each stage's loss is the paper's (reconstruction, KL, the latent regulariser weighted by
alpha), it falls on tiny data, the source encoder stays frozen and +wt copies the source weights only when asked."""

import pytest
import torch

from da_vae.models import Encoder, copy_source_weights, kl_divergence
from da_vae.module import SourceVAE, TargetDAE, TargetEncoder


def stage_args(bands=(24, 32), latent=8):
    return dict(task="midi", bands=list(bands), frames=21, model={"latent_dim": latent, "channels": [8, 16, 32],
                "hidden": 64}, optim={"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8}, features={})


def trained_source():
    torch.manual_seed(0)
    source = SourceVAE(**stage_args())
    source.vae(torch.randn(64, 21, 24))  # move batch-norm statistics away from their initial values
    return source.eval()


@pytest.mark.parametrize("init", [True, False])
def test_weight_initialisation_copies_the_source_weights_only_when_asked(init):
    source = trained_source()
    encoder = TargetEncoder(**stage_args((24, 24)), init_from_source=init).start_from(source.vae)
    dae = TargetDAE(**stage_args((24, 24)), init_from_source=init, alpha=1.0).start_from(source.vae)
    for copy, original in ((encoder.encoder, source.vae.encoder), (dae.dae.encoder, source.vae.encoder),
                           (dae.dae.decoder, source.vae.decoder), (encoder.source, source.vae.encoder)):
        same = all(torch.equal(a, b) for a, b in zip(copy.state_dict().values(), original.state_dict().values()))
        assert same == (init or copy is encoder.source)
    assert encoder.encoder.convs[0][0].weight.data_ptr() != source.vae.encoder.convs[0][0].weight.data_ptr()
    with pytest.raises(ValueError, match="32-band target model from a 24-band source"):
        TargetEncoder(**stage_args((24, 32)), init_from_source=True).start_from(source.vae)
    direct = Encoder(24, 21, 8, (8, 16, 32), 64).eval()
    copy_source_weights(source.vae, direct)
    x = torch.randn(3, 21, 24)
    torch.testing.assert_close(direct(x), source.vae.encoder(x))


def parallel_set(kind: str, n=256, bands=24, seed=0):
    """Source segments, a parallel target-domain rendering of them and the raw source: for the encoder a fixed
    nonlinear mixing, for the DAE a non-negative 'mixture' = source + an unrelated sparse accompaniment."""
    g = torch.Generator().manual_seed(seed)
    source = (torch.rand(n, 21, bands, generator=g) > 0.8).float()
    if kind == "encoder":
        target = torch.tanh(source @ torch.randn(bands, bands, generator=g))
        target = target + 0.05 * torch.randn(n, 21, bands, generator=g)
    else:
        target = source + 0.7 * (torch.rand(n, 21, bands, generator=g) > 0.8).float()
    return source, target, source.clone()


@pytest.mark.parametrize("kind", ["encoder", "mask", "magnitude"])
def test_stage_two_loss_falls_and_the_source_encoder_stays_frozen(kind):
    torch.manual_seed(0)
    source_module = trained_source()
    src, tgt, raw = parallel_set(kind)
    bands = (24, 24)
    module = (TargetEncoder(**stage_args(bands)) if kind == "encoder" else
              TargetDAE(**stage_args(bands), alpha=1.0, output=kind)).start_from(source_module.vae)
    frozen = {k: v.clone() for k, v in module.source.state_dict().items()}
    optimizer = module.configure_optimizers()
    assert all(p.requires_grad for group in optimizer.param_groups for p in group["params"])
    module.train()
    assert not module.source.training
    losses = []
    for step in range(120):
        batch = slice((step * 32) % 256, (step * 32) % 256 + 32)
        loss = module.losses(src[batch], tgt[batch], raw[batch])
        optimizer.zero_grad()
        loss["loss"].backward()
        optimizer.step()
        losses.append({k: float(v.detach()) for k, v in loss.items()})
    first, last = losses[0], sum(l["loss"] for l in losses[-8:]) / 8
    assert last < 0.5 * first["loss"]
    assert losses[-1]["mse_z"] < first["mse_z"]
    for key, value in module.source.state_dict().items():
        assert torch.equal(value, frozen[key]), key


def test_both_outputs_decode_the_voice_representation_within_the_mixture():
    """mask: x~ = log(1 + sigmoid(decoder) |mixture|); magnitude: x~ = the decoder output itself; either
    separated magnitude lies in [0, |mixture|] bin by bin."""
    torch.manual_seed(0)
    args = {**stage_args((24, 24)), "task": "separation"}
    mask = TargetDAE(**args, output="mask").eval()
    magnitude = TargetDAE(**args, output="magnitude").eval()
    magnitude.load_state_dict(mask.state_dict())
    mixture = torch.rand(5, 21, 24) * 3
    estimate, z = mask.estimate_representation(mixture)
    out, z_direct = mask.dae(torch.log1p(mixture))
    torch.testing.assert_close(estimate, torch.log1p(torch.sigmoid(out) * mixture))
    torch.testing.assert_close(magnitude.estimate_representation(mixture)[0], out)
    torch.testing.assert_close(z, z_direct)
    for module in (mask, magnitude):
        voice = module.separate(mixture)
        assert (voice >= 0).all() and (voice <= mixture).all()
    torch.testing.assert_close(mask.separate(mixture), torch.sigmoid(out) * mixture)
    with pytest.raises(ValueError, match="output='wiener'"):
        TargetDAE(**args, output="wiener")


def test_stage_one_loss_of_the_piano_roll_is_bernoulli_plus_kl_and_gaussian_elsewhere():
    """Task midi: -log p(roll | z) is the binary cross-entropy of the decoder's logits against the 0/1 roll,
    summed over the segment; other tasks keep half the summed squared error. Both add the KL term."""
    torch.manual_seed(0)
    roll = (torch.rand(6, 21, 24) > 0.8).float()
    for task in ("midi", "singing"):
        module = SourceVAE(**{**stage_args((24, 24)), "task": task}).eval()  # eval: z = mu, deterministic
        losses = module.losses(roll, roll, roll)
        output, mu, logvar = module.vae(roll)
        p = torch.sigmoid(output)
        bernoulli = -(roll * torch.log(p) + (1 - roll) * torch.log(1 - p)).sum((1, 2)).mean()
        gaussian = 0.5 * (output - roll).square().sum((1, 2)).mean()
        torch.testing.assert_close(losses["rec"], bernoulli if task == "midi" else gaussian)
        torch.testing.assert_close(losses["kl"], kl_divergence(mu, logvar).mean())
        torch.testing.assert_close(losses["loss"], losses["rec"] + losses["kl"])


def test_the_roll_vae_learns_to_reconstruct_the_notes():
    """Trained a little on 0/1 rolls (its output starting from each pitch's training rate), the roll VAE's
    reconstruction from z beats the best guess that ignores z (each pitch's rate) clearly."""
    torch.manual_seed(0)
    chords = (torch.rand(8, 1, 24) > 0.8).float()
    roll = chords.repeat(8, 21, 1)  # 8 held chords, 8 times each
    rate = roll.mean((0, 1))
    stats = {"source_mean": torch.zeros(24), "source_std": torch.ones(24), "source_rate": rate,
             "target_mean": torch.zeros(24), "target_std": torch.ones(24)}
    module = SourceVAE(**stage_args((24, 24)), stats=stats)
    module.eval()
    blind = float(module.losses(roll, roll, roll)["rec"].detach())  # before training: the rates, whatever z is
    entropy = -(rate * rate.clamp_min(1e-3).log() + (1 - rate) * (1 - rate).clamp_min(1e-3).log()).sum() * 21
    assert blind == pytest.approx(float(entropy), rel=0.1)
    optimizer = module.configure_optimizers()
    module.train()
    for step in range(200):
        batch = roll[(step * 16) % 64:(step * 16) % 64 + 16]
        loss = module.losses(batch, batch, batch)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    module.eval()
    assert float(module.losses(roll, roll, roll)["rec"].detach()) < 0.8 * blind



def separation_set(n=192, bands=24, seed=0):
    """Voice-like magnitudes (one harmonic series per segment, its pitch random, silent before a random onset)
    and mixtures with a random sparse accompaniment, ``(n, 21, bands)`` each."""
    g = torch.Generator().manual_seed(seed)
    f0 = torch.randint(2, 6, (n, 1, 1), generator=g)
    bins = torch.arange(bands).view(1, 1, -1)
    harmonic = (bins % f0 == 0) & (bins > 0)
    level = 4.0 / (bins // f0).clamp_min(1)  # harmonics decay
    onset = torch.randint(0, 12, (n, 1, 1), generator=g)
    voiced = torch.arange(21).view(1, -1, 1) >= onset
    voice = (harmonic & voiced).float() * level
    accompaniment = (torch.rand(n, 21, bands, generator=g) > 0.7).float() * 2 * torch.rand(n, 21, bands, generator=g)
    return voice, voice + accompaniment


def trained_separation_vae(steps=300):
    torch.manual_seed(0)
    source = SourceVAE(**{**stage_args((24, 24)), "task": "separation"})
    voice, _ = separation_set()
    optimizer = source.configure_optimizers()
    source.train()
    for step in range(steps):
        batch = voice[(step * 32) % 192:(step * 32) % 192 + 32]
        loss = source.losses(batch, batch, batch)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return source.eval()


def test_wt_copies_a_decoder_that_produces_the_voice_representation():
    """With the paper's output, "+wt" starts the DAE from the VAE: fed a clean voice it decodes what the VAE
    decodes, a close copy of log(1 + |voice|), and on mixtures its l1 starts far below a random start's; with
    the mask output the same weights become mask logits and decode something else."""
    source = trained_separation_vae()
    voice, mixture = separation_set(seed=1)  # unseen segments
    args = {**stage_args((24, 24)), "task": "separation"}
    wt = TargetDAE(**args, init_from_source=True, output="magnitude").start_from(source.vae).eval()
    random = TargetDAE(**args, init_from_source=False, output="magnitude").start_from(source.vae).eval()
    masked = TargetDAE(**args, init_from_source=True, output="mask").start_from(source.vae).eval()
    target = torch.log1p(voice)
    reconstruction = source.vae(target)[0]
    torch.testing.assert_close(wt.estimate_representation(voice)[0], reconstruction)
    assert (reconstruction - target).abs().mean() < 0.7 * target.abs().mean()  # the VAE decodes voices
    assert not torch.allclose(masked.estimate_representation(voice)[0], reconstruction, atol=0.05)

    def l1(module):
        return (module.estimate_representation(mixture)[0] - target).abs().mean()

    assert l1(wt) < 0.7 * l1(random)


@pytest.mark.parametrize("task, loss", [("separation", "l2"), ("separation", "l1"), ("singing", "l2")])
def test_stage_one_loss_is_reconstruction_plus_kl(task, loss):
    """L_vae = L_rec + L_KL: for separation the voice loss summed over the segment of log(1 + |voice|) (l2:
    squared error / 2; l1: absolute error); Tasks 1-2, half the summed squared error of the normalised features;
    the KL of the encoder's Gaussian; both averaged over the batch."""
    torch.manual_seed(0)
    raw = torch.rand(6, 21, 24) * 4
    module = SourceVAE(**{**stage_args((24, 24)), "task": task}, voice_loss=loss).eval()  # eval: z = mu
    normalised = (raw - 1.0) / 2.0
    x = torch.log1p(raw) if task == "separation" else normalised
    mu, logvar = module.vae.encoder(x)
    error = module.vae.decoder(mu) - x
    rec = error.abs().sum((1, 2)).mean() if loss == "l1" else 0.5 * error.square().sum((1, 2)).mean()
    kl = (-0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(1)).mean()
    losses = module.losses(normalised, normalised, raw)
    torch.testing.assert_close(losses["rec"], rec)
    torch.testing.assert_close(losses["kl"], kl)
    assert kl > 0.01
    torch.testing.assert_close(losses["loss"], rec + kl)


@pytest.mark.parametrize("loss", ["l2", "l1"])
@pytest.mark.parametrize("output", ["magnitude", "mask"])
@pytest.mark.parametrize("alpha", [0.0, 2.0])
def test_dae_loss_is_the_voice_loss_plus_alpha_times_the_latent_mse(alpha, output, loss):
    """Equation 3: the voice loss between log(1 + |voice|) and its estimate (mean per bin) + alpha * MSE(z, z*),
    z = the frozen VAE encoder's mu on the voice, z* = the DAE encoder's mu on the mixture."""
    source = trained_source()
    voice, mixture = separation_set(n=8)
    stats = {"source_mean": torch.full((24,), 0.5), "source_std": torch.full((24,), 2.0),
             "target_mean": torch.full((24,), 1.0), "target_std": torch.full((24,), 3.0)}
    module = TargetDAE(**{**stage_args((24, 24)), "task": "separation"}, stats=stats, alpha=alpha, output=output,
                       voice_loss=loss, init_from_source=False).start_from(source.vae).eval()
    error = module.estimate_representation(mixture)[0] - torch.log1p(voice)
    rec = error.abs().mean() if loss == "l1" else 0.5 * error.square().mean()
    z, z_star = source.vae.encoder(torch.log1p(voice))[0], module.dae.encoder(torch.log1p(mixture))[0]
    mse = (z - z_star).square().mean()
    assert mse > 0.01
    losses = module.losses((voice - 0.5) / 2.0, (mixture - 1.0) / 3.0, voice)  # as the data module gives them
    torch.testing.assert_close(losses["rec"], rec)
    torch.testing.assert_close(losses["mse_z"], mse)
    torch.testing.assert_close(losses["loss"], rec + alpha * mse)
