"""The autoencoder: sizes of every variant, the chroma skip reaching the decoder, the losses, training."""

import csv

import pytest
import torch

from realtime_ae.models import SpectralAutoencoder, weight_penalty
from realtime_ae.module import FrameAutoencoder, load_model

HIDDEN = [64, 32, 16]


@pytest.mark.parametrize(("augmentation", "inputs"), [("none", 2049), ("diff", 4097), ("chroma", 2061)])
@pytest.mark.parametrize("activation", ["sigmoid", "lrelu"])
def test_variants_have_the_papers_sizes(augmentation, inputs, activation):
    model = SpectralAutoencoder(2049, HIDDEN, 3, activation, augmentation, skip=True)
    assert model.encoder[0].in_features == inputs
    assert model.decoder.hidden[0].in_features == 3 + 12
    frames, chroma = torch.rand(5, 2049), torch.eye(12)[:5]
    out, z, mu, logvar = model(frames, chroma)
    assert out.shape == (5, 2049) and (out >= 0).all() and z.shape == (5, 3) and logvar is None
    if activation == "sigmoid":
        assert ((z > 0) & (z < 1)).all()
    assert SpectralAutoencoder(2049, HIDDEN, 8, activation, augmentation, skip=False).decoder.hidden[0].in_features == 8


def test_full_paper_network_is_geometric():
    model = SpectralAutoencoder()
    widths = [m.out_features for m in model.encoder if isinstance(m, torch.nn.Linear)]
    assert [model.encoder[0].in_features, *widths, model.to_latent.out_features] == \
        [2061, 1024, 512, 256, 128, 64, 32, 16, 8]
    assert model.decoder.out.out_features == 2049


def test_chroma_skip_reaches_the_decoder():
    torch.manual_seed(0)
    with_skip = SpectralAutoencoder(2049, HIDDEN, 2, "sigmoid", "chroma", skip=True).eval()
    z = torch.full((12, 2), 0.5)
    out = with_skip.decoder(z, torch.eye(12))
    # the same latent under 12 different chroma vectors gives 12 different spectra
    assert torch.cdist(out, out).add(torch.eye(12) * 1e9).min() > 1e-4
    without = SpectralAutoencoder(2049, HIDDEN, 2, "sigmoid", "chroma", skip=False).eval()
    out = without.decoder(z, torch.eye(12))
    assert torch.equal(out, out[:1].expand(12, -1))


def test_loss_is_mse_plus_l2_and_the_vae_adds_kl():
    args = dict(bins=2049, optim={"lr": 5e-4, "l2": 1e-7}, features={})
    model = dict(hidden=HIDDEN, bottleneck=2, activation="sigmoid", augmentation="chroma", skip=True,
                 variational=False, beta=1.0)
    module = FrameAutoencoder(model=model, **args)
    frames, chroma = torch.rand(8, 2049), torch.eye(12)[:8]
    with torch.no_grad():
        losses = {k: float(v) for k, v in module.losses(frames, chroma).items()}
        expected = torch.nn.functional.mse_loss(module.net(frames, chroma)[0], frames)
        penalty = float(weight_penalty(module.net))
    assert losses["mse"] == pytest.approx(float(expected), rel=1e-6)
    assert losses["loss"] == pytest.approx(float(expected) + 1e-7 * penalty, rel=1e-6)
    vae = FrameAutoencoder(model={**model, "variational": True, "beta": 4.0}, **args).eval()
    with torch.no_grad():
        v = {k: float(x) for k, x in vae.losses(frames, chroma).items()}
    assert v["kl"] > 0 and v["loss"] == pytest.approx(v["mse"] + 4.0 * v["kl"] + v["l2"], rel=1e-5)
    assert vae.net.to_latent.out_features == 4


def test_training_lowers_the_validation_mse(trained):
    rows = list(csv.DictReader(open(next(trained.parents[1].glob("csv/version_*/metrics.csv")))))
    val = [float(r["val/loss"]) for r in rows if r.get("val/loss")]
    assert len(val) >= 5 and val[-1] < 0.7 * val[0]
    module = load_model(trained)
    assert module.hparams.model["bottleneck"] == 2 and module.hparams.features["n_fft"] == 4096


def test_validation_audio_examples_resynthesise_a_val_clip(tiny, trained):
    from realtime_ae import data
    from realtime_ae.module import example_from

    corpus = data.PreparedCorpus(data.prepare(tiny.config()))
    clip = corpus.split_clips("val")[0]
    module = load_model(trained)
    module.example = example_from(corpus, clip)
    audio = module.audio_examples()
    assert set(audio) == {"input", "output"}
    (wave_in, rate), (wave_out, _) = audio["input"], audio["output"]
    assert rate == 44100 and wave_in.shape == wave_out.shape and len(wave_in) >= (clip["frames"] - 1) * 1024
    assert float(wave_in.abs().max()) > 0.01 and float(wave_out.abs().max()) > 0.001


def test_beta_vae_variant_trains_and_decodes_from_its_mean(tiny):
    assert tiny.run("train", "model.variational=true", "model.beta=0.5", "run.name=vae") == 0
    ckpt = tiny.root / "runs/realtime_ae/vae/checkpoints/last.ckpt"
    rows = list(csv.DictReader(open(next(ckpt.parents[1].glob("csv/version_*/metrics.csv")))))
    val = [float(r["val/loss"]) for r in rows if r.get("val/loss")]
    assert val[-1] < 0.8 * val[0] and any(r.get("train/kl") for r in rows)
    module = load_model(ckpt)
    frames, chroma = torch.rand(4, 2049), torch.eye(12)[:4]
    assert torch.equal(module.reconstruct(frames, chroma), module.reconstruct(frames, chroma))  # deterministic


def test_glorot_init_is_kerass_dense_default():
    torch.manual_seed(0)
    model = SpectralAutoencoder(2049, HIDDEN, 2, init="glorot")
    first, out = model.encoder[0], model.decoder.out
    for layer in (first, out):
        bound = (6 / (layer.in_features + layer.out_features)) ** 0.5
        weight, bias = layer.weight.detach(), layer.bias.detach()
        assert float(bias.abs().max()) == 0.0 and bound * 0.95 < float(weight.abs().max()) <= bound
    default = SpectralAutoencoder(2049, HIDDEN, 2)  # PyTorch's: +-1/sqrt(fan_in), biases too
    assert float(default.decoder.out.weight.detach().abs().max()) > 0.12 > float(out.weight.detach().abs().max())
    with pytest.raises(ValueError, match="init"):
        SpectralAutoencoder(2049, HIDDEN, 2, init="he")


def test_variants_of_one_seed_start_their_shared_layers_from_the_same_weights():
    """Common random numbers: skip or not, sigmoid or LReLU, every layer of the same name and shape starts equal
    under one seed (the paired differences then measure the variant), and another seed draws other weights."""
    def net(seed, **kwargs):
        torch.manual_seed(seed)
        return SpectralAutoencoder(2049, HIDDEN, 2, init="glorot", **kwargs).state_dict()

    skip, plain, lrelu, other = net(3, skip=True), net(3, skip=False), net(3, activation="lrelu"), net(4, skip=True)
    assert all(torch.equal(skip[k], plain[k]) for k in skip if k in plain and skip[k].shape == plain[k].shape)
    assert all(torch.equal(skip[k], lrelu[k]) for k in skip)
    assert not torch.equal(skip["encoder.0.weight"], other["encoder.0.weight"])
