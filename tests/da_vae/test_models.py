"""da_vae.models and the stage modules: Table 1 shapes, the 1-D layout equals the paper's 2-D convolutions,
the KL term, the sliding encoder and where the separation decoders start (the losses: test_losses.py)."""

import pytest
import torch

from da_vae.models import VAE, Decoder, DenoisingAE, Encoder, conv_frames, kl_divergence
from da_vae.module import SourceVAE, TargetDAE
from tests.da_vae.test_losses import stage_args


@pytest.mark.parametrize("bands, latent", [(128, 128), (128, 12), (256, 128), (513, 128)])
def test_every_model_has_the_paper_shapes(bands, latent):
    x = torch.randn(4, 21, bands)
    encoder = Encoder(bands, 21, latent)
    mu, logvar = encoder(x)
    assert mu.shape == logvar.shape == (4, latent)
    assert [m.out_channels for m in encoder.modules() if isinstance(m, torch.nn.Conv1d)] == [64, 128, 256]
    assert encoder.fc[0].in_features == 256 * 5 and encoder.fc[0].out_features == 512
    assert Decoder(bands, 21, latent)(mu).shape == (4, 21, bands)
    reconstruction, mu, logvar = VAE(bands, 21, latent)(x)
    assert reconstruction.shape == x.shape and mu.shape == (4, latent)
    estimate, z = DenoisingAE(bands, 21, latent)(x)
    assert estimate.shape == x.shape and z.shape == (4, latent)


@pytest.mark.parametrize("frames", [5, 20, 21, 24])
def test_decoder_restores_any_segment_length(frames):
    second, third = conv_frames(frames)
    assert third >= 1
    assert VAE(16, frames, 8, (4, 8, 16), 32)(torch.randn(3, frames, 16))[0].shape == (3, frames, 16)


def test_first_three_layers_are_table_1_two_d_convolutions():
    """Conv 1xF over a (T, F) image, then 3x1 and 2x1 stride (2, 1): the same numbers as the 1-D layers."""
    torch.manual_seed(0)
    encoder = Encoder(40, 21, 8).eval()
    x = torch.randn(2, 21, 40)
    image = x[:, None]  # (batch, 1, T, F)
    c1, c2, c3 = (encoder.convs[i][0] for i in range(3))
    h = torch.nn.functional.conv2d(image, c1.weight[:, None].transpose(2, 3), c1.bias)  # kernel (1, F)
    assert h.shape == (2, 64, 21, 1)
    h = encoder.convs[0][2](encoder.convs[0][1](h[..., 0]))[..., None]
    h = torch.nn.functional.conv2d(h, c2.weight[..., None], c2.bias, stride=(2, 1))  # kernel (3, 1)
    h = encoder.convs[1][2](encoder.convs[1][1](h[..., 0]))[..., None]
    h = torch.nn.functional.conv2d(h, c3.weight[..., None], c3.bias, stride=(2, 1))  # kernel (2, 1)
    assert h.shape == (2, 256, 5, 1)
    reference = encoder.convs[2][2](encoder.convs[2][1](h[..., 0]))
    torch.testing.assert_close(encoder.convs(x.transpose(1, 2)), reference)


def test_vae_samples_in_training_and_uses_the_mean_in_eval():
    torch.manual_seed(0)
    vae = VAE(32, 21, 8, (8, 16, 32), 64)
    x = torch.randn(6, 21, 32)
    vae.eval()
    assert torch.equal(vae(x)[0], vae.decoder(vae.encoder(x)[0]))
    vae.train()
    assert not torch.allclose(vae(x)[0], vae(x)[0])


def test_kl_term_matches_torch_distributions():
    mu, logvar = torch.randn(5, 7), torch.randn(5, 7)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros(5, 7), torch.ones(5, 7))
    torch.testing.assert_close(kl_divergence(mu, logvar), torch.distributions.kl_divergence(q, p).sum(1))


@pytest.mark.parametrize("frames, n", [(21, 60), (9, 9), (21, 21)])
def test_sliding_mu_equals_the_encoder_on_every_segment(frames, n):
    torch.manual_seed(0)
    encoder = Encoder(bands=12, frames=frames, latent_dim=4, channels=(8, 16, 32), hidden=24)
    for _ in range(3):  # running statistics away from their initial 0 / 1
        encoder(torch.randn(16, frames, 12) * 2 + 1)
    encoder.eval()
    x = torch.randn(n, 12)
    segments = x.unfold(0, frames, 1).transpose(1, 2)  # (n - frames + 1, frames, 12)
    with torch.no_grad():
        torch.testing.assert_close(encoder.sliding_mu(x, frames), encoder(segments)[0], rtol=1e-4, atol=1e-5)


def test_separation_decoders_start_at_the_mean_voice_not_at_silence():
    """With the training mean of log(1 + |voice|) per bin (``stats["voice_mean"]``) the VAE's and the magnitude
    DAE's output layers start there: an untrained DAE's estimate is an average voice, not log(1 + 0) = silence
    (the mask output and models without the statistics keep the default start)."""
    torch.manual_seed(0)
    voice_mean = torch.linspace(0.2, 1.5, 24)
    stats = {"source_mean": torch.zeros(24), "source_std": torch.ones(24), "target_mean": torch.zeros(24),
             "target_std": torch.ones(24), "voice_mean": voice_mean}
    args = {**stage_args((24, 24)), "task": "separation"}
    vae = SourceVAE(**args, stats=stats)
    dae = TargetDAE(**args, stats=stats, output="magnitude", init_from_source=False)
    torch.testing.assert_close(vae.vae.decoder.deconvs[-1].bias.data, voice_mean)
    torch.testing.assert_close(dae.dae.decoder.deconvs[-1].bias.data, voice_mean)
    assert not torch.allclose(TargetDAE(**args, stats=stats, output="mask").dae.decoder.deconvs[-1].bias.data,
                              voice_mean)
    mixture = torch.rand(64, 21, 24) * 20
    estimate = dae.eval().estimate_representation(mixture)[0]
    bare = TargetDAE(**args, output="magnitude", init_from_source=False).eval().estimate_representation(mixture)[0]
    assert (estimate.mean((0, 1)) - voice_mean).abs().mean() < 0.5 * (bare.mean((0, 1)) - voice_mean).abs().mean()
