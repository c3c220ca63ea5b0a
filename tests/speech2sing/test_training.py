"""Every training key reaches training: the MTL weight scales the phone loss, the learning-rate schedule decays
on its period, the speech pitch shift changes the inputs (and only the inputs), the seed sets the initial weights,
the eval trains each job on its own thread setting, and a training item's input, pitch image, target and phones
are cut from the same frames."""

import numpy as np
import pytest
import torch

from speech2sing import data, experiments, training
from speech2sing import features as fx
from speech2sing.config import SYSTEMS
from speech2sing.module import Speech2SingModule


def module_for(cfg) -> Speech2SingModule:
    return Speech2SingModule(system_name=cfg.system, system=training.system_switches(cfg), model=dict(cfg.model),
                             optim=dict(cfg.optim), features=training.features(cfg))


@pytest.fixture(scope="module")
def batch(tiny):
    items = data.PairDataset(data.samples(tiny.config())["train"][:4], tiny.config().data)
    return data.collate([items[i] for i in range(4)])


def test_the_mtl_weight_scales_the_phone_loss(tiny, batch):
    losses = {}
    for weight in (0.015, 0.5):
        torch.manual_seed(0)
        module = module_for(tiny.config("system=p_mtl", f"optim.mtl_lambda={weight}"))
        losses[weight] = module.losses(batch)
    for weight, out in losses.items():
        assert out["loss"].item() == pytest.approx(out["mse"].item() + weight * out["ce"].item(), rel=1e-5)
    assert "ce" not in module_for(tiny.config("system=p_mse")).losses(batch)


@pytest.mark.parametrize("decay_every", [10, 1000])
def test_the_learning_rate_decays_once_per_period(tiny, decay_every):
    module = module_for(tiny.config("optim.lr=0.01", "optim.decay=0.5", f"optim.decay_every={decay_every}"))
    config = module.configure_optimizers()
    optimizer, scheduler = config["optimizer"], config["lr_scheduler"]["scheduler"]
    rates = []
    for _ in range(25):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    expected = [0.01 * 0.5 ** (step // decay_every) for step in range(25)]
    assert rates == pytest.approx(expected)


@pytest.mark.parametrize("world_size", [1, 8, 16])
def test_the_paper_presets_rate_at_its_last_step_is_the_papers_at_any_world_size(world_size):
    """14 decays of 0.92 over the 14 x 1000 steps, counted in optimizer steps: every rank takes one per global
    batch (of batch_size x world_size samples), so 8 or 16 GPUs end at the same rate as one."""
    from common.lightning.config import load_config
    from speech2sing.config import Speech2SingConfig
    from speech2sing.module import learning_rate

    cfg = load_config(Speech2SingConfig, "speech2sing", "paper", [f"trainer.devices={world_size}"])
    steps_per_rank = cfg.trainer.max_steps  # Lightning's max_steps: optimizer steps, the same on every rank
    rate = learning_rate(dict(cfg.optim), steps_per_rank)
    assert rate == pytest.approx(0.002 * 0.92 ** 14) and 1e-4 < rate < 2e-3


def test_the_speech_pitch_shift_changes_the_input_only(tiny):
    s = data.samples(tiny.config())["train"][0]
    got = {}
    for shift in (0.0, 1.0):
        d = tiny.config(f"data.pitch_shift={shift}", "data.crop_frames=0").data
        got[shift] = data.PairDataset([s], d, train=True)[(0, (1, 2))]
    assert torch.equal(got[0.0][0], torch.from_numpy(np.ascontiguousarray(s.X)))
    assert not torch.equal(got[0.0][0], got[1.0][0])
    for k in (1, 2, 3):  # pitch image, target and phones untouched
        assert torch.equal(got[0.0][k], got[1.0][k])


def test_training_items_cut_input_pitch_image_target_and_phones_from_the_same_frames(tiny):
    d = tiny.config("data.crop_frames=32", "data.pitch_shift=0").data
    samples = [s for s in data.samples(tiny.config())["train"] if s.Y.shape[1] > 48][:5]
    dataset = data.PairDataset(samples, d, train=True)
    for i, s in enumerate(samples):
        X, C, Y, phones = dataset[(i, (7, i))]
        a = next(a for a in range(s.Y.shape[1] - 31) if np.array_equal(s.Y[:, a:a + 32], Y.numpy()))
        assert torch.equal(X, torch.from_numpy(np.ascontiguousarray(s.X[:, a:a + 32])))
        assert np.array_equal(C.numpy(), fx.pitch_image(s.f0[a:a + 32], s.Y.shape[0], d.sample_rate, d.pitch_image))
        assert np.array_equal(phones.numpy(), s.phones[a:a + 32])


def test_the_seed_sets_the_initial_weights(tiny, monkeypatch):
    built = {}

    def keep(cfg, package, module, datamodule):
        built[cfg.run.seed] = [p.detach().clone() for p in module.parameters()]
    monkeypatch.setattr(training, "fit", keep)
    for seed in (0, 1, 0):
        before = built.get(seed)
        training.train(tiny.config("system=p_mse", f"run.seed={seed}"))
        if before is not None:
            assert all(torch.equal(a, b) for a, b in zip(before, built[seed]))
    assert not all(torch.equal(a, b) for a, b in zip(built[0], built[1]))


def test_the_eval_trains_each_model_on_its_thread_setting(tiny, monkeypatch):
    seen = []
    monkeypatch.setattr(training, "train", lambda cfg: seen.append((cfg.threads, torch.get_num_threads(),
                                                                    training.sub_run(cfg).run.name)) or "ckpt")
    from omegaconf import OmegaConf

    container = OmegaConf.to_container(tiny.config("run.name=threads"))
    before = torch.get_num_threads()
    for threads in (1, 2):
        experiments.train_job(container, "p_mtl", 1, threads)
    assert seen == [(1, 1, "threads/p_mtl-seed1"), (2, 2, "threads/p_mtl-seed1-threads2")]
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("name", ["p_mtl", "b1"])
def test_the_trained_range_and_system_are_checkpoint_facts(tiny, name):
    module = module_for(tiny.config(f"system={name}"))
    assert module.checkpoint_kind == name and module.checkpoint_facts()["melody"] == SYSTEMS[name]["melody"]


def test_train_prepares_the_samples_it_needs(tiny, tmp_path):
    """`train` on a run root where nothing was prepared builds the samples itself (no `prepare` first)."""
    fresh = tiny.config(f"run.root={tmp_path}/runs")
    assert not data.feature_dir(fresh, "uniform").exists()
    assert tiny.run("train", f"run.root={tmp_path}/runs", "system=b1", "trainer.max_steps=2") == 0
    assert (data.feature_dir(fresh, "uniform")).is_dir()
    assert training.last_checkpoint(tiny.config(f"run.root={tmp_path}/runs", "system=b1")).is_file()
