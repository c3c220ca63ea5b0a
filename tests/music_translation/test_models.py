"""Model shapes, the adversarial sign of the encoder step, and the domain schedule."""

import torch
import torch.nn.functional as F

from music_translation.data import domain_of_batch
from music_translation.models import DomainConfusion, TranslationNet

MODEL = dict(encoder_blocks=1, encoder_layers=3, encoder_channels=8, encoder_kernel=3, latent_channels=4, pool=50,
             decoder_blocks=1, decoder_layers=4, residual_channels=8, skip_channels=8, confusion_channels=8,
             confusion_kernel=1, n_classes=256)


def test_shapes_and_one_decoder_per_domain():
    net = TranslationNet(MODEL, ["a", "b", "c"])
    codes = torch.randint(0, 256, (2, 500))
    latent = net.encode(codes)
    assert latent.shape == (2, 4, 10) and len(net.decoders) == 3
    assert net.confusion(latent).shape == (2, 3)
    assert net.decoders[0].receptive_field == 16  # 1 + (1 + 2 + 4 + 8)
    assert DomainConfusion(64, 6)(torch.randn(3, 64, 7)).shape == (3, 6)
    net.add_domain("d")
    assert net.domains[-1] == "d" and len(net.decoders) == 4 and net.confusion(latent).shape == (2, 3)


def test_encoder_step_raises_the_confusion_loss():
    """The encoder's update from ``recon - lambda * CE_confusion`` moves it to where C classifies worse."""
    torch.manual_seed(0)
    net = TranslationNet(MODEL, ["a", "b"])
    codes = torch.randint(0, 256, (4, 500))
    target = torch.ones(4, dtype=torch.long)

    def encoder_grads(weight):
        net.zero_grad()
        net.autoencoder_loss(net.encode(codes), codes, 1, weight)[0].backward()
        return [p.grad.clone() for p in net.encoder.parameters()]

    adversarial = [g - r for g, r in zip(encoder_grads(1e-2), encoder_grads(0.0))]
    before = F.cross_entropy(net.confusion(net.encode(codes)), target).item()
    with torch.no_grad():
        for p, g in zip(net.encoder.parameters(), adversarial):
            p -= 10.0 * g  # gradient descent on the adversarial part of the encoder loss
    after = F.cross_entropy(net.confusion(net.encode(codes)), target).item()
    assert after > before + 1e-4, (before, after)


def test_every_domain_gets_batches_on_any_world_size():
    for world in (1, 2, 3, 8):
        for k in (1, 3, 6, 7):
            seen = {domain_of_batch(i, r, world, k) for i in range(k) for r in range(world)}
            assert seen == set(range(k)), (world, k)
            # at one step, ranks take distinct domains when there are enough of them
            assert len({domain_of_batch(0, r, world, k) for r in range(world)}) == min(world, k)
