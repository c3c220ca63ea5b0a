"""Checkpoints carry the project stamp, and `load_checkpoint` refuses what a verb cannot use, naming the path."""

import pytest
import torch

from common.errors import InputError
from common.lightning.checkpoint import STAMP, load_checkpoint
from tests.lightning.test_training import run_path, toy


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    result = toy(root, "trainer.max_steps=3", "logger.wandb=false")
    assert result.returncode == 0, result.stderr[-2000:]
    return run_path(root) / "checkpoints" / "last.ckpt"


def test_every_checkpoint_is_stamped_with_its_package_and_kind(trained):
    assert torch.load(trained, weights_only=False)[STAMP] == {"package": "tests.toy_task", "kind": "ToyRegression"}
    assert load_checkpoint(trained, "tests.toy_task", kinds=["ToyRegression"])["global_step"] == 3


def test_load_checkpoint_refusals_name_the_path(trained, tmp_path):
    with pytest.raises(InputError, match=rf"{trained}: a tests.toy_task checkpoint \(ToyRegression\), not a "
                                         "da_vae one"):
        load_checkpoint(trained, "da_vae")
    with pytest.raises(InputError, match=rf"{trained}: holds a ToyRegression model, but this needs M_GMVAE"):
        load_checkpoint(trained, "tests.toy_task", kinds=["M_GMVAE"])
    run = trained.parent.parent
    with pytest.raises(InputError, match=rf"{run}: is a folder, not a checkpoint file; pass the file {trained}"):
        load_checkpoint(run, "tests.toy_task")
    with pytest.raises(InputError, match=rf"{tmp_path / 'x.ckpt'}: no such checkpoint; train one with"):
        load_checkpoint(tmp_path / "x.ckpt", "tests.toy_task")
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match=rf"{junk}: cannot be read as a checkpoint"):
        load_checkpoint(junk, "tests.toy_task")
    unstamped = tmp_path / "old.ckpt"
    torch.save({"state_dict": {}}, unstamped)
    with pytest.raises(InputError, match=rf"{unstamped}: not a checkpoint written by this project"):
        load_checkpoint(unstamped, "tests.toy_task")
