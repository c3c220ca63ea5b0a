"""The Singing Autoencoder is the proposed network fed the singing in place of the speech (melody encoder, skip
connections, IN before the GRUs): its input is its target, and its loss falls fast on a tiny case, where the
same network without the skips (the code-only autoencoder) stays near the mean-spectrum level."""

import torch

from speech2sing import data
from speech2sing.config import SYSTEMS
from speech2sing.module import Speech2SingModule
from speech2sing.training import features, system_switches


def trained_mse(cfg, switches: dict, batch, steps: int) -> tuple[float, float]:
    torch.manual_seed(0)
    module = Speech2SingModule(system_name="singing_ae", system=switches,
                               model={"channels": 64, "phone_channels": 32, "phones": 41},
                               optim={"lr": 0.002, "decay": 0.92, "decay_every": 1000}, features=features(cfg))
    optimizer = module.configure_optimizers()["optimizer"]
    losses = []
    for _ in range(steps):
        loss = module.losses(batch)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses[0], min(losses[-5:])


def test_the_singing_autoencoder_reads_the_singing_and_its_loss_falls_on_a_tiny_case(tiny):
    cfg = tiny.config("data.crop_frames=64")
    switches = system_switches(cfg, "singing_ae")
    assert switches["source"] == "singing" and switches["melody"] and switches["skips"]
    assert dict(switches, source="speech") == SYSTEMS["p_mse"]
    items = data.samples(cfg)["train"][:8]
    dataset = data.PairDataset(items, cfg.data, "singing", train=True)
    batch = data.collate([dataset[(i, (7, i))] for i in range(len(items))])
    X, C, Y = batch[:3]
    assert torch.equal(X, Y) and (C.amax(1) > 0).any()  # input = target singing; the melody too
    first, last = trained_mse(cfg, switches, batch, 40)
    _, code_only = trained_mse(cfg, dict(switches, skips=False), batch, 40)
    print(f"Singing AE loss {first:.4f} -> {last:.4f}; code-only {code_only:.4f}")
    assert last < 0.3 * first
    assert last < 0.5 * code_only
