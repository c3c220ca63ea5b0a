"""Data loaders whose position and shuffling are saved in the checkpoint (torchdata's ``StatefulDataLoader``,
whose ``state_dict`` Lightning saves and restores), so a run resumed mid-epoch, or after it, sees the batches
an uninterrupted run would have seen."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset, Sampler
from torchdata.stateful_dataloader import StatefulDataLoader


class ResumableShuffle(Sampler[int]):
    """A new permutation of ``range(n)`` every epoch (``range(n)`` itself unless ``shuffle``), drawn from
    ``seed + epoch`` (not from a generator that would have to be carried across epochs), with the epoch and
    position as its state. ``draws``: yields ``(index, entropy)`` instead, ``entropy = (seed, epoch, position)``
    for ``np.random.default_rng``, so a dataset's own random choices (crops, augmentation) are the same in a
    resumed run and in every worker process. An epoch whose last index was taken is over even if its iterator
    was never exhausted (a sized loader stops at its length): the next ``iter`` starts the next epoch, never an
    empty one."""

    def __init__(self, n: int, seed: int = 0, shuffle: bool = True, draws: bool = False):
        self.n, self.seed, self.shuffle, self.draws = n, seed, shuffle, draws
        self.epoch, self.yielded = 0, 0

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        if self.yielded >= self.n:
            self.epoch, self.yielded = self.epoch + 1, 0
        generator = torch.Generator().manual_seed((self.seed + self.epoch) % 2**63)
        order = torch.randperm(self.n, generator=generator).tolist() if self.shuffle else range(self.n)
        while self.yielded < self.n:
            self.yielded += 1
            index = order[self.yielded - 1]
            yield (index, (self.seed, self.epoch, self.yielded - 1)) if self.draws else index

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "yielded": self.yielded}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.yielded = state["epoch"], state["yielded"]


class ResumableBatches(Sampler[list[int]]):
    """Lists of ``batch_size`` indices in :class:`ResumableShuffle` order, for a dataset indexed by a whole
    batch at once (in-memory tensors); the position is the state."""

    def __init__(self, n: int, batch_size: int, shuffle: bool, seed: int = 0, drop_last: bool = False):
        self.order = ResumableShuffle(n, seed, shuffle)
        self.n, self.batch_size, self.drop_last = n, batch_size, drop_last

    def __len__(self) -> int:
        return self.n // self.batch_size if self.drop_last else -(-self.n // self.batch_size)

    def __iter__(self):
        indices = iter(self.order)
        while batch := [i for _, i in zip(range(self.batch_size), indices)]:
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield batch

    def state_dict(self) -> dict:
        return self.order.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.order.load_state_dict(state)


def resumable_loader(dataset: Dataset, batch_size: int, shuffle: bool = False, seed: int | None = None,
                     batched: bool = False, draws: bool = False, **kwargs) -> StatefulDataLoader:
    """A ``DataLoader`` (same keyword arguments) whose position is checkpointed; ``shuffle`` draws each epoch's
    order from ``seed`` and the epoch number (:class:`ResumableShuffle`). ``batched``: ``dataset[list]`` returns
    the whole batch (:class:`ResumableBatches`). ``draws``: the dataset is indexed by ``(index, entropy)``
    (:class:`ResumableShuffle`). Its own generator seeds the workers, so making an iterator
    leaves torch's global random state (the training's noise) untouched. ``seed`` defaults to torch's initial
    seed (``run.seed`` when the CLI runs a verb), so each training seed sees its own data order."""
    seed = torch.initial_seed() if seed is None else seed
    kwargs.setdefault("generator", torch.Generator().manual_seed(seed))
    if batched:
        batches = ResumableBatches(len(dataset), batch_size, shuffle, seed, kwargs.pop("drop_last", False))
        return StatefulDataLoader(dataset, sampler=batches, batch_size=None, **kwargs)
    sampler = ResumableShuffle(len(dataset), seed, shuffle, draws) if shuffle or draws else None
    return StatefulDataLoader(dataset, batch_size=batch_size, sampler=sampler, **kwargs)
