"""Every optimizer key, loss reference, schedule key and seed reaches training: Adam gets `optim.*`, stage 2
regresses the target encoder on the source encoder's z of the SOURCE segment, each eval job trains with its own
`run.seed` and step count, and a seed changes the initial weights (the same seed gives the same ones)."""

import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from common.errors import InputError
from da_vae import experiments, table3, training
from da_vae.module import SourceVAE, TargetDAE, TargetEncoder
from tests.da_vae.test_losses import stage_args, trained_source


@pytest.mark.parametrize("make", [
    lambda args: SourceVAE(**args),
    lambda args: TargetEncoder(**args).start_from(trained_source().vae),
    lambda args: TargetDAE(**{**args, "task": "separation"}).start_from(trained_source().vae),
])
def test_adam_gets_the_configured_rate_betas_and_eps_and_only_trainable_weights(make):
    args = {**stage_args((24, 24)), "optim": {"lr": 0.0123, "betas": [0.5, 0.75], "eps": 1e-5}}
    module = make(args)
    optimizer = module.configure_optimizers()
    [group] = optimizer.param_groups
    assert (group["lr"], tuple(group["betas"]), group["eps"]) == (0.0123, (0.5, 0.75), 1e-5)
    trainable = {id(p) for p in module.parameters() if p.requires_grad}
    assert {id(p) for p in group["params"]} == trainable and trainable


def test_stage_two_regresses_on_the_source_encoders_z_of_the_source_segment():
    """L = MSE(z*, z) with z* the target encoder's mu on the target segment and z the frozen source encoder's mu
    on the parallel SOURCE segment (not on the target one)."""
    torch.manual_seed(0)
    module = TargetEncoder(**stage_args((24, 24)), init_from_source=False).start_from(trained_source().vae).eval()
    source, target = torch.rand(6, 21, 24), torch.randn(6, 21, 24)
    z, z_star = module.source(source)[0], module.encoder(target)[0]
    losses = module.losses(source, target, source)
    torch.testing.assert_close(losses["loss"], F.mse_loss(z_star, z))
    assert (losses["loss"] - F.mse_loss(z_star, module.source(target)[0])).abs() > 1e-3


def test_each_table3_job_trains_with_its_seed_steps_output_init_and_alpha(monkeypatch):
    seen = []
    monkeypatch.setattr(table3.training, "train_stage", lambda cfg, stage: seen.append((stage, cfg)) or "x.ckpt")
    container = OmegaConf.to_container(OmegaConf.create({"task": {"name": "midi", "source_ckpt": "s.ckpt",
                                                                  "dae_output": "magnitude", "init_from_source": False,
                                                                  "alpha": 1.0},
                                                         "run": {"seed": 0}, "trainer": {"max_steps": 500},
                                                         "ckpt_path": None}))
    table3._train_source(container, 3, 17)
    table3._train_dae(container, 2, 23, "mask", True, 0.5)
    (stage1, c1), (stage2, c2) = seen
    assert stage1 == "source" and (c1.run.seed, c1.trainer.max_steps, c1.task.name) == (3, 17, "separation")
    assert c1.ckpt_path == "last" and c1.task.source_ckpt is None
    assert stage2 == "target" and (c2.run.seed, c2.trainer.max_steps) == (2, 23)
    assert (c2.task.dae_output, c2.task.init_from_source, c2.task.alpha) == ("mask", True, 0.5)


def test_the_alignment_jobs_train_each_seed_and_latent_size(monkeypatch, tiny):
    seen = []

    def train_stage(cfg, stage):
        seen.append((stage, cfg.run.seed, cfg.model.latent_dim, cfg.task.name, cfg.task.init_from_source,
                     cfg.task.alpha))
        return f"{stage}-{cfg.run.seed}-{cfg.model.latent_dim}.ckpt"

    monkeypatch.setattr(experiments.training, "train_stage", train_stage)
    monkeypatch.setattr(experiments.inference, "load_target", lambda path, task: path)
    cfg = tiny.config("eval.workers=0")
    models = experiments.trained_models(cfg, "midi", {"proposed": (False, 0.3)}, [0, 4], [32, 12])
    assert models == {(s, L, "proposed"): f"target-{s}-{L}.ckpt" for s in (0, 4) for L in (32, 12)}
    assert {(stage, s, L) for stage, s, L, *_ in seen} == {(stage, s, L) for s in (0, 4) for L in (32, 12)
                                                           for stage in ("source", "target")}
    assert all((init, alpha) == (False, 0.3) for stage, *_, init, alpha in seen if stage == "target")


def test_a_tasks_source_vae_trains_its_own_steps_and_a_misnamed_task_is_refused(tiny, monkeypatch):
    """``task.source_steps.<task>`` reaches the Trainer of that task's source VAE only; 0 or an unlisted task is
    ``trainer.max_steps``; a key naming no task is one line naming it."""
    steps = []
    monkeypatch.setattr(training, "fit", lambda cfg, package, module, datamodule: steps.append(cfg.trainer.max_steps))
    cfg = tiny.config("task.name=midi", "trainer.max_steps=7", "task.source_steps.midi=11",
                      "task.source_steps.singing=0", "task.init_from_source=false")
    training.train_stage(cfg, "source")
    assert steps == [11]
    assert training.stage_config(cfg, "target").trainer.max_steps == 7
    cfg.task.name = "singing"
    assert training.stage_config(cfg, "source").trainer.max_steps == 7
    with pytest.raises(InputError, match=r"task.source_steps.mdi names no task; use one of midi"):
        training.check_task(tiny.config("task.source_steps.mdi=3000"))
    with pytest.raises(InputError, match=r"task.source_steps.midi=-1: must be a finite number in \[0, inf\]"):
        training.train_stage(tiny.config("task.source_steps.midi=-1"), "source")


def test_run_seed_reaches_the_initial_weights(tiny, midi_checkpoint, monkeypatch):
    """The models `train` builds for seeds 0, 1 and 0 again (stage 1, and stage 2 from random weights): the two
    seeds differ, the repeated seed is identical."""
    built = []
    monkeypatch.setattr(training, "fit", lambda cfg, package, module, datamodule: built.append(module))
    source = midi_checkpoint.parent.parent.parent / "midi-L32-source/checkpoints/last.ckpt"
    for stage in ("source", "target"):
        for seed in (0, 1, 0):
            cfg = tiny.config("task.name=midi", f"run.seed={seed}", "task.init_from_source=false",
                              f"task.source_ckpt={source}")
            training.train_stage(cfg, stage)
    for first, other, again in (built[:3], built[3:]):
        weights = [dict(m.named_parameters()) for m in (first, other, again)]
        trained = [name for name in weights[0] if not name.startswith("source.")]
        assert all(torch.equal(weights[0][n], weights[2][n]) for n in trained)
        assert not all(torch.equal(weights[0][n], weights[1][n]) for n in trained)
