"""Data loaders whose position and shuffling are saved in the checkpoint (torchdata's ``StatefulDataLoader``,
whose ``state_dict`` Lightning saves and restores), so a run resumed mid-epoch, or after it, sees the batches
an uninterrupted run would have seen."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset, Sampler
from torchdata.stateful_dataloader import StatefulDataLoader


class ResumableShuffle(Sampler[int]):
    """A new permutation of ``range(n)`` every epoch, drawn from ``seed + epoch`` (not from a generator that
    would have to be carried across epochs), with the epoch and position as its state."""

    def __init__(self, n: int, seed: int = 0):
        self.n, self.seed = n, seed
        self.epoch, self.yielded = 0, 0

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        order = torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seed + self.epoch)).tolist()
        for index in order[self.yielded:]:
            self.yielded += 1
            yield index
        self.epoch, self.yielded = self.epoch + 1, 0

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "yielded": self.yielded}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.yielded = state["epoch"], state["yielded"]


def resumable_loader(dataset: Dataset, batch_size: int, shuffle: bool = False, seed: int = 0,
                     **kwargs) -> StatefulDataLoader:
    """A ``DataLoader`` (same keyword arguments) whose position is checkpointed; ``shuffle`` draws each epoch's
    order from ``seed`` and the epoch number (:class:`ResumableShuffle`)."""
    sampler = ResumableShuffle(len(dataset), seed) if shuffle else None
    return StatefulDataLoader(dataset, batch_size=batch_size, sampler=sampler, **kwargs)
