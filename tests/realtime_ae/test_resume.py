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
