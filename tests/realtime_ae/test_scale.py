"""Paper scale: the learning rate at the paper preset's last step on 1, 8 and 16 ranks, each rank's own batches,
and `train` preparing its own data."""

import math

import pytest
import torch

from common.lightning import load_config
from realtime_ae.config import RealtimeAeConfig
from realtime_ae.data import FrameDataModule, RankBatches
from realtime_ae.training import build_module


class FakeCorpus:
    bins, rows = 2049, 10


def paper_config():
    return load_config(RealtimeAeConfig, "realtime_ae", "paper", [])


@pytest.mark.parametrize("world", [1, 8, 16])
def test_learning_rate_at_the_paper_presets_last_step(world):
    """Adam at a constant 5e-4 per optimizer step (the paper's); ``data.batch_size`` is per rank, so N ranks take
    N times fewer steps per epoch. The rate the last step of 300 epochs of the paper's 17,000-frame one-octave
    corpus runs at must be the paper's at any world size (no schedule decays it to nothing)."""
    cfg = paper_config()
    module = build_module(cfg, FakeCorpus())
    optimizer = module.configure_optimizers()
    optimizers, schedulers = (optimizer, []) if isinstance(optimizer, torch.optim.Optimizer) else optimizer
    last_step = cfg.trainer.max_epochs * math.ceil(17_000 / (cfg.data.batch_size * world))
    for scheduler in schedulers:  # none today; a schedule added later is stepped to the preset's last step
        for _ in range(last_step):
            scheduler.step()
    rate = optimizers.param_groups[0]["lr"] if isinstance(optimizers, torch.optim.Optimizer) else \
        optimizers[0].param_groups[0]["lr"]
    assert 1e-5 <= rate <= 1e-2 and rate == pytest.approx(5e-4)
    assert cfg.optim.lr == 5e-4 and cfg.data.batch_size == 200 and cfg.trainer.max_epochs == 300


@pytest.mark.parametrize("world", [2, 16])
def test_each_rank_draws_its_own_batches_reproducibly(world):
    n, batch = 1000 + world - 1, 20
    epochs = [[list(RankBatches(n, batch, seed=3, rank=r, world=world)) for r in range(world)]]
    ranks = [RankBatches(n, batch, seed=3, rank=r, world=world) for r in range(world)]
    first = [[i for b in iter(s) for i in b] for s in ranks]
    second = [[i for b in iter(s) for i in b] for s in ranks]  # the next epoch of the same samplers
    for r in range(world):
        assert [i for b in epochs[0][r] for i in b] == first[r]  # reproducible from (seed, epoch, rank)
        assert len(first[r]) == n // world and len(set(first[r])) == n // world
        assert first[r] != second[r]  # a new order every epoch
    seen = [i for rows in first for i in rows]
    assert len(set(seen)) == len(seen) == n // world * world  # the ranks' rows are disjoint
    assert len({len(list(RankBatches(n, batch, 3, r, world))) for r in range(world)}) == 1  # same batch count
    assert list(RankBatches(n, batch, 4, 0, world)) != epochs[0][0]  # another seed, another order


def test_the_data_module_hands_each_rank_its_own_batches(tiny):
    from realtime_ae import data

    corpus = data.PreparedCorpus(data.prepare(tiny.config()))
    rows = []
    for rank in (0, 1):
        module = FrameDataModule(corpus, 64)
        module.trainer = type("Trainer", (), {"world_size": 2, "global_rank": rank})()
        module.setup()
        torch.manual_seed(0)
        frames, _ = next(iter(module.train_dataloader()))
        rows.append(frames)
    assert rows[0].shape == rows[1].shape == (64, 2049) and not torch.equal(rows[0], rows[1])


def test_train_prepares_its_own_data(tiny):
    """`train` on a fresh root: the corpus is built and its frames cached first, no `prepare` needed."""
    root = tiny.root / "fresh"
    assert tiny.run("train", f"data.root={root}/synthetic", f"data.cache={root}/cache", f"run.root={root}/runs",
                    "trainer.max_epochs=1") == 0
    assert any((root / "cache").glob("one_octave-*/index.json"))
