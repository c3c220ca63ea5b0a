"""A stopped and resumed training run is the run that was never stopped (the data order is checkpointed)."""

import torch


def test_training_stopped_and_resumed_ends_with_the_weights_of_one_uninterrupted_run(tiny):
    args = ["trainer.max_epochs=-1", "trainer.deterministic=true", "trainer.check_val_every_n_epoch=100"]
    assert tiny.run("train", *args, "run.name=straight", "trainer.max_steps=12") == 0
    assert tiny.run("train", *args, "run.name=split", "trainer.max_steps=5") == 0
    assert tiny.run("train", *args, "run.name=split", "trainer.max_steps=12", "ckpt_path=last") == 0
    runs = tiny.root / "runs" / "realtime_ae"
    straight, split = (torch.load(runs / name / "checkpoints" / "last.ckpt", weights_only=False)
                       for name in ("straight", "split"))
    assert straight["global_step"] == split["global_step"] == 12 and straight["epoch"] == split["epoch"]
    for key, value in straight["state_dict"].items():
        assert torch.equal(split["state_dict"][key], value), key


def test_eval_resumes_a_run_stopped_before_its_end_instead_of_reusing_its_checkpoint(tiny):
    from realtime_ae.experiments import Spec, finished, run_config, train_all

    cfg = tiny.config()
    cfg.run.name, cfg.eval.workers = "stopped", 1
    spec = Spec("one_octave", 2, "sigmoid", "chroma", True)
    ckpt = train_all(cfg, [(spec, 0, 1)])[spec, 0, 1]
    run = run_config(cfg, spec, 0, 1)
    assert finished(run) and run.ckpt_path == "last"
    step = torch.load(ckpt, weights_only=False)["global_step"]
    (ckpt.parent.parent / "train_seconds.txt").unlink()  # as a run killed after a periodic checkpoint leaves it
    assert not finished(run)
    assert train_all(cfg, [(spec, 0, 1)])[spec, 0, 1] == ckpt and finished(run)  # trained again: resumed
    assert torch.load(ckpt, weights_only=False)["global_step"] == step  # from its checkpoint, not from scratch
