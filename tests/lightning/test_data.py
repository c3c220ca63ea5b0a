"""Resumable data loaders: a loader rebuilt from a mid-epoch state_dict continues the sequence of batches (and
of a dataset's own random draws) an uninterrupted loader yields, across epochs."""

import numpy as np
import torch
from torch.utils.data import Dataset

from common.lightning.data import resumable_loader


class Rows(Dataset):
    """Indexed by one index, a list of indices (``batched``) or ``(index, entropy)`` (``draws``): the index
    plus, for draws, a number from the generator that entropy seeds (a stand-in for a random crop)."""

    def __len__(self) -> int:
        return 10

    def __getitem__(self, key):
        if isinstance(key, tuple):
            index, entropy = key
            return torch.tensor([index, int(np.random.default_rng(entropy).integers(1000))])
        return torch.tensor(key)


def epochs(loader, n: int) -> list:
    return [[b.tolist() for b in loader] for _ in range(n)]


def resumed_after(kwargs: dict, batches: int) -> list:
    """The loader's batches after ``batches`` of them were taken and its state moved to a new loader."""
    first = resumable_loader(Rows(), 4, **kwargs)
    it = iter(first)
    taken = [next(it).tolist() for _ in range(batches)]
    second = resumable_loader(Rows(), 4, **kwargs)
    second.load_state_dict(first.state_dict())
    rest = epochs(second, 3)
    return [taken + rest[0], *rest[1:]]


def test_an_epoch_taken_to_its_length_is_followed_by_the_next_never_an_empty_one():
    loader = resumable_loader(Rows(), 5, shuffle=True, seed=3)
    it = iter(loader)
    first = [next(it).tolist() for _ in range(len(loader))]  # stop at the length, as Lightning does
    second = [b.tolist() for b in loader]
    assert len(second) == 2 and sorted(sum(first, [])) == sorted(sum(second, [])) == list(range(10))
    assert first != second


def test_resumed_mid_epoch_continues_the_same_batches_across_epochs():
    for kwargs in ({"shuffle": True, "seed": 1}, {"shuffle": True, "seed": 1, "batched": True},
                   {"shuffle": False, "batched": True}, {"shuffle": True, "seed": 1, "draws": True}):
        straight = epochs(resumable_loader(Rows(), 4, **kwargs), 3)
        assert resumed_after(kwargs, 1) == straight, kwargs
    assert epochs(resumable_loader(Rows(), 4, shuffle=True, seed=1), 2)[1] != straight[0]


def test_draws_are_the_same_in_worker_processes_and_differ_between_items():
    kwargs = {"shuffle": True, "seed": 5, "draws": True}
    in_process = epochs(resumable_loader(Rows(), 4, **kwargs), 2)
    assert epochs(resumable_loader(Rows(), 4, num_workers=2, **kwargs), 2) == in_process
    values = [row[1] for epoch in in_process for batch in epoch for row in batch]
    assert len(set(values)) > len(values) // 2


def test_the_order_follows_torchs_seed_unless_a_seed_is_given():
    orders = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        orders.append(epochs(resumable_loader(Rows(), 4, shuffle=True), 1))
    assert orders[0] != orders[1]
    torch.manual_seed(0)
    assert epochs(resumable_loader(Rows(), 4, shuffle=True), 1) == orders[0]
