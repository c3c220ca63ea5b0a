"""The training loader's random crops and pitch shifts are drawn per item, so a loader resumed from its state
yields the batches an uninterrupted one yields, in this process and in worker processes."""

import torch

from speech2sing import data


def batches(loader, epochs: int = 1) -> list:
    return [b[0] for _ in range(epochs) for b in loader]


def test_a_resumed_loader_yields_the_crops_and_shifts_of_an_uninterrupted_one(tiny):
    module = data.PairDataModule(tiny.config("data.batch_size=2"), "uniform", "speech")
    module.setup()
    straight = batches(module.train_dataloader(), 2)
    first = module.train_dataloader()
    taken = [next(iter(first))[0]]
    second = module.train_dataloader()
    second.load_state_dict(first.state_dict())
    resumed = taken + batches(second, 2)
    assert len(resumed) == len(straight) > 2
    assert all(torch.equal(a, b) for a, b in zip(resumed, straight))
    assert not torch.equal(straight[0], batches(module.train_dataloader())[1])
    in_workers = data.PairDataModule(tiny.config("data.batch_size=2", "data.num_workers=2"), "uniform", "speech")
    in_workers.setup()
    assert all(torch.equal(a, b) for a, b in zip(batches(in_workers.train_dataloader()), straight))
