"""Every Table 1 system builds and runs forward on odd lengths (padding to a multiple of 8 is cut back), the
switches change what they say, and the MTL loss equals MSE + lambda * mean CE on a hand-made case."""

import math

import pytest
import torch

from speech2sing.config import SYSTEMS
from speech2sing.models import Speech2Singing, mtl_loss
from speech2sing.module import Speech2SingModule

F = 33  # a small n_fft = 64


def build(name, channels=16):
    s = dict(SYSTEMS[name], mtl_lambda=0.015 if SYSTEMS[name]["mtl_lambda"] is None else 0.0)
    return Speech2SingModule(system_name=name, system=s, model={"channels": channels, "phone_channels": 8,
                                                                  "phones": 41},
                             optim={"lr": 0.002, "decay": 0.92, "decay_every": 10},
                             features={"sample_rate": 2000, "n_fft": 64, "hop_length": 16, "silence_db": 40.0,
                                       "silence_run": 3})


@pytest.mark.parametrize("name", list(SYSTEMS))
@pytest.mark.parametrize("T", [1, 7, 13, 29])
def test_every_system_runs_forward_on_odd_lengths(name, T):
    torch.manual_seed(0)
    module = build(name)
    x, c = torch.rand(2, F, T), torch.zeros(2, F, T)
    y, logits = module(x, c)
    assert y.shape == (2, F, T) and torch.isfinite(y).all()
    assert (logits is not None) == (name == "p_mtl")
    if logits is not None:
        assert logits.shape == (2, 41, T)


def test_switches_change_the_network():
    def count(module, kind):
        return sum(isinstance(m, kind) for m in module.modules())

    norms = {name: count(build(name).network, torch.nn.InstanceNorm1d) for name in SYSTEMS}
    assert norms["b2"] == 0 and norms["p_mse"] == 3 and norms["allnorm"] > 4 * norms["p_mse"]
    assert build("b1").network.melody_encoder is None and build("p_mse").network.melody_encoder is not None
    torch.manual_seed(0)
    x = torch.rand(1, F, 16)
    # the melody reaches the output of a melody system, never that of B1
    for name, changes in (("p_mse", True), ("b1", False)):
        net = build(name).network.eval()
        c1, c2 = torch.zeros(1, F, 16), torch.zeros(1, F, 16)
        c2[:, 5] = 1
        assert (not torch.allclose(net(x, c1)[0], net(x, c2)[0])) == changes
    # without skips (B2) the output depends on the input only through the T/8 latent
    net = build("b2").network.eval()
    assert not net.skips and net(x, torch.zeros_like(x))[0].shape == x.shape


def test_the_melody_skip_puts_the_pitch_image_onto_the_output_bins():
    """With ``melody_skip`` the pitch image reaches the output at its own bins and frames (through a 5-bin x
    3-frame filter), beside the T/8 bottleneck; without it, no such layer exists."""
    assert Speech2Singing(F, 16).melody_skip is None and Speech2Singing(F, 16, melody=False, melody_skip=True
                                                                            ).melody_skip is None
    torch.manual_seed(0)
    net = Speech2Singing(F, 16, melody_skip=True).eval()
    x, c = torch.rand(1, F, 24), torch.zeros(1, F, 24)
    c2 = c.clone()
    c2[0, 20, 10] = 1.0

    def change(gain):
        with torch.no_grad():
            net.melody_gain.fill_(gain)
            net.melody_skip.weight.zero_()
            net.melody_skip.weight[0, 0, 2, 1] = 1.0  # the identity filter
            net.melody_skip.bias.zero_()
            return net(x, c2)[0] - net(x, c)[0]
    expected = torch.zeros(1, F, 24)
    expected[0, 20, 10] = 1.0
    assert torch.allclose(change(1.0) - change(0.0), expected, atol=1e-5)


def test_mtl_loss_is_mse_plus_lambda_times_mean_cross_entropy_by_hand():
    y = torch.tensor([[[1.0, 2.0, 0.0]]])  # (B=1, F=1, T=3); frame 3 is padding
    y_hat = torch.tensor([[[0.0, 4.0, 100.0]]])
    mask = torch.tensor([[True, True, False]])
    logits = torch.tensor([[[0.0, math.log(3.0), 5.0], [0.0, 0.0, 5.0]]])  # (B, P=2, T)
    phones = torch.tensor([[0, 1, 0]])
    # MSE over real frames: (1 + 4) / 2; CE frame 1: log 2; frame 2: -0 + log(3 + 1) = log 4
    expected_mse = 2.5
    expected_ce = (math.log(2.0) + math.log(4.0)) / 2
    out = mtl_loss(y_hat, y, mask, logits, phones, mtl_lambda=0.015)
    assert out["mse"].item() == pytest.approx(expected_mse)
    assert out["ce"].item() == pytest.approx(expected_ce)
    assert out["loss"].item() == pytest.approx(expected_mse + 0.015 * expected_ce)
    assert mtl_loss(y_hat, y, mask, logits, phones, 0.0)["loss"].item() == pytest.approx(expected_mse)


def test_the_paper_sized_network_maps_513_bins_through_a_64_times_smaller_latent():
    net = Speech2Singing(513, 512, melody=False, skips=False)
    z, skips = net.speech_encoder(torch.rand(1, 513, 64))
    assert z.shape == (1, 64, 8) and [s.shape[1:] for s in skips] == [(512, 64), (256, 32), (128, 16)]


def test_the_melody_encoder_reads_only_the_pitch_image_rows_in_use_with_the_full_convolution_result():
    from speech2sing.models import SparseRowConv

    torch.manual_seed(0)
    sparse = SparseRowConv(F, 8, 3, padding=1)
    full = torch.nn.Conv1d(F, 8, 3, padding=1)
    full.load_state_dict(sparse.state_dict())
    c = torch.zeros(2, F, 11)
    c[0, 4, 2:6], c[1, 9, 5:], c[1, 30, 0] = 1, 1, 1
    y_sparse, y_full = sparse(c), full(c)
    assert torch.allclose(y_sparse, y_full, atol=1e-6)
    y_sparse.square().sum().backward()
    y_full.square().sum().backward()
    assert torch.allclose(sparse.weight.grad, full.weight.grad, atol=1e-5)
    assert torch.allclose(sparse(torch.zeros(1, F, 5)), full(torch.zeros(1, F, 5)))  # no voiced frame at all
    assert isinstance(Speech2Singing(F, 16).melody_encoder.inp[0], SparseRowConv)
