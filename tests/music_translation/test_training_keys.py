"""Every loss weight, schedule and augmentation key changes what training does, and the seed reaches the
weights: a few steps of the tiny model per setting, the final weights compared."""

import torch

from music_translation import inference

BASE = ["trainer.max_steps=3", "optim.lr_decay=0.5"]
CASES = {
    "base": [],
    "base again": [],
    "optim.confusion_weight": ["optim.confusion_weight=1.0"],
    "optim.decay_every_steps": ["optim.decay_every_steps=1"],
    "optim.lr_decay": ["optim.decay_every_steps=1", "optim.lr_decay=0.1"],
    "optim.lr": ["optim.lr=0.001"],
    "optim.clip_value": ["optim.clip_value=0.0001"],
    "augment.enabled": ["augment.enabled=false"],
    "augment.max_semitones": ["augment.max_semitones=3.0"],
    "run.seed": ["run.seed=7"],
    "initial weights": ["optim.lr=0.0"],  # no step moves the weights: the seed alone must set them
    "initial weights, run.seed": ["optim.lr=0.0", "run.seed=7"],
}


def test_every_training_key_changes_the_weights(tiny):
    weights = {}
    for name, overrides in CASES.items():
        run = "keys-" + name.replace(" ", "-").replace(".", "-")
        assert tiny.run("train", f"run.name={run}", *BASE, *overrides) == 0, name
        module = inference.load_module(tiny.root / f"runs/music_translation/{run}/checkpoints/last.ckpt")
        weights[name] = torch.cat([p.detach().flatten() for p in module.net.parameters()])
    assert torch.equal(weights["base"], weights["base again"])  # the differences below come from the keys
    names = [n for n in CASES if n != "base again"]
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not torch.equal(weights[a], weights[b]), f"{a} and {b} trained the same weights"
