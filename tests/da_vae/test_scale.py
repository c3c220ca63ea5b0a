"""The paper preset at scale: the learning rate over its steps at any world size, randomness per DDP rank (2 gloo
ranks), `train` preparing its own data, the `plan` verb, and (slow) a full-size 2-rank dry run."""

import json
import socket
from types import SimpleNamespace

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from common.lightning import load_config
from da_vae.config import DaVaeConfig
from da_vae.module import SourceVAE, TargetEncoder
from tests.da_vae.test_losses import stage_args, trained_source


def paper_config(*overrides):
    return load_config(DaVaeConfig, "da_vae", "paper", list(overrides))


@pytest.mark.parametrize("world", [1, 8, 16])
def test_the_paper_learning_rate_holds_to_the_last_step_at_any_world_size(world):
    """The paper trains with Adam at 1e-3 and no decay. Stated in optimizer steps: every step of every stage
    (``trainer.max_steps`` of them) uses ``optim.lr``, whatever the world size (N ranks see N x 128 segments a
    step; nothing counts samples). Checked at the preset's last step, through the optimizer a stage builds."""
    cfg = paper_config(f"trainer.devices={world}")
    module = SourceVAE(**{**stage_args((24, 24)), "optim": dict(cfg.optim)})
    configured = module.configure_optimizers()
    assert isinstance(configured, torch.optim.Optimizer), "a scheduler would have to be stepped here"
    module.vae.train()
    x = torch.randn(8, 21, 24)
    for _ in range(3):  # a few real steps: Adam keeps the rate it was given
        configured.zero_grad()
        module.losses(x, x, x)["loss"].backward()
        configured.step()
    rate = configured.param_groups[0]["lr"]
    assert cfg.trainer.max_steps == 20_000 and rate == cfg.optim.lr == 1e-3
    assert 1e-4 <= rate <= 1e-2  # the sane range for Adam on these networks, at step 20,000 of any world size


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_losses(rank: int, port: int, out: str) -> None:
    """One gloo rank: the training losses of one batch, the same on both ranks, at steps 0, 0 again and 1, for the
    VAE (noise) and the augmented target encoder (augmentation); rank 0 writes every rank's losses."""
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    torch.manual_seed(0)  # as seed_everything(run.seed) does on every rank
    augment = {"enabled": True, "gain_db": 6.0, "eq_db": 6.0, "eq_bands": 6, "reverb_probability": 0.5,
               "reverb_seconds": [0.2, 0.8], "reverb_wet": [0.1, 0.6]}
    features = {"sample_rate": 16000, "n_fft": 1024, "hop_ms": 20.0, "n_mels": 24}
    vae = SourceVAE(**{**stage_args((24, 24)), "task": "singing"}, seed=3).train()
    encoder = TargetEncoder(**{**stage_args((24, 24)), "task": "singing", "features": features}, augment=augment,
                            seed=3).start_from(trained_source().vae).train()
    g = torch.Generator().manual_seed(1)
    x, audio = torch.randn(4, 21, 24, generator=g), torch.randn(4, 20 * 320 + 1024, generator=g)
    losses = []
    for step in (0, 0, 1):
        row = []
        for module, batch in ((vae, (x, x, x)), (encoder, (x, x, x, audio))):
            module._trainer = SimpleNamespace(global_rank=rank, global_step=step, log_every_n_steps=0, max_steps=9)
            with torch.no_grad():
                row.append(float(module.training_step(batch, 0)))
        losses.append(row)
    gathered = [None, None]
    dist.all_gather_object(gathered, losses)
    if rank == 0:
        with open(out, "w") as handle:
            json.dump(gathered, handle)
    dist.destroy_process_group()


@pytest.mark.ddp
def test_each_rank_draws_its_own_noise_and_augmentation_reproducibly(tmp_path):
    """Two gloo ranks seeded alike (as Lightning seeds them) and fed the same batch: the VAE's sampling noise and
    the target audio's augmentation differ between the ranks, repeat at the same step and change with the step."""
    out = tmp_path / "losses.json"
    mp.spawn(_rank_losses, args=(_free_port(), str(out)), nprocs=2, join=True)
    (r0_step0, r0_again, r0_step1), (r1_step0, r1_again, _) = json.loads(out.read_text())
    for k, what in enumerate(("VAE noise", "augmentation")):
        assert r0_step0[k] != r1_step0[k], f"{what}: both ranks drew the same numbers"
        assert r0_again[k] == r0_step0[k] and r1_again[k] == r1_step0[k], f"{what}: not reproducible"
        assert r0_step1[k] != r0_step0[k], f"{what}: the same draws at every step"


def test_train_prepares_the_data_it_needs(tiny, tmp_path, capsys):
    """`train` on a fresh feature cache prepares it first (no separate `prepare` run needed)."""
    cache = tmp_path / "fresh-cache"
    assert tiny.run("train", "task.name=singing", "task.stage=source", "trainer.max_steps=2", f"data.cache={cache}",
                    f"run.root={tmp_path}/runs") == 0
    assert len(list(cache.glob("singing-*/index.json"))) == 1
    assert "checkpoint:" in capsys.readouterr().out


def test_plan_prints_the_cost_of_the_paper_preset(tiny, capsys):
    assert tiny.run("plan", "--config", "paper", "--gpus", "8", "task.name=separation") == 0
    out = capsys.readouterr().out
    assert "8 x A100" in out and "parameters" in out and "projected wall time" in out
    assert "20,000" in out and "source VAE" in out and "target DAE" in out


@pytest.mark.slow
@pytest.mark.ddp
def test_the_paper_preset_trains_at_full_size_under_two_ranks(tmp_path):
    """The paper preset's full-size models (L = 128, channels 64/128/256, FC 512; only the data is the tiny
    stand-in) train 2 steps of each stage and validate under 2 gloo ranks: losses finite, ranks identical, the
    checkpoints restore and resume, and the validation images are full strips of segments."""
    from PIL import Image

    from common.lightning.checkpoint import load_checkpoint
    from tests.paper_scale.harness import DryRun, check_ranks, train

    data = [f"data.root={tmp_path}/data", "data.synthetic=true", "data.corpus_size=tiny", f"data.cache={tmp_path}/c",
            "data.num_workers=0", "trainer.val_check_interval=2", "trainer.limit_val_batches=2", "task.name=midi",
            "run.name=dry", "trainer.devices=2"]
    run = tmp_path / "runs/da_vae/dry"
    for stage, folder in (("source", "midi-L128-source"), ("target", "midi-L128-encoder-wt")):
        result = train("da_vae", tmp_path / "runs", [*data, f"task.stage={stage}", "trainer.max_steps=2"],
                       tmp_path / f"probe-{stage}")
        assert result.returncode == 0, result.stderr[-4000:]
        ranks = [json.loads((tmp_path / f"probe-{stage}/rank{k}.json").read_text()) for k in range(2)]
        check_ranks(DryRun(run / folder, ranks, {}, []))
        checkpoint = load_checkpoint(run / folder / "checkpoints/last.ckpt", "da_vae", [f"midi {stage}"])
        assert checkpoint["global_step"] == 2
        assert checkpoint["hyper_parameters"]["model"] == {"latent_dim": 128, "channels": [64, 128, 256],
                                                           "hidden": 512}
        images = sorted((run / folder / "examples").rglob("*.png"))
        assert images and all(min(Image.open(p).size) >= 64 for p in images), images
    resumed = train("da_vae", tmp_path / "runs", [*data, "task.stage=target", "trainer.max_steps=3",
                                                  "ckpt_path=last"], tmp_path / "probe-resumed")
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    assert json.loads((tmp_path / "probe-resumed/rank0.json").read_text())["global_step"] == 3
