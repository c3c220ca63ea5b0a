"""The paper preset of gmvae_timbre at full size (512 filters, FC 512, batch 128) on the tiny synthetic SOL: two
steps and a validation under 2 gloo ranks, then one more step resumed from last.ckpt. Its runs live one level
down (``<run.name>/gmvae-N100-seed0-threads1``), so the harness's pieces are called here with that path."""

import json

import pytest

from common.lightning.checkpoint import load_checkpoint
from tests.paper_scale.harness import DryRun, check_ranks, train

RUN = "gmvae-N100-seed0-threads1"


@pytest.mark.slow
@pytest.mark.ddp
def test_the_paper_preset_trains_two_ranks_and_resumes(tmp_path):
    root, probe = tmp_path / "runs", tmp_path / "probe"
    data = [f"data.root={tmp_path}/synthetic", f"data.cache={tmp_path}/cache", "data.corpus_size=tiny",
            "trainer.check_val_every_n_epoch=1"]
    base = ["run.name=dry", "trainer.devices=2", *data]
    first = train("gmvae_timbre", root, [*base, "trainer.max_steps=2"], probe)
    assert first.returncode == 0, first.stderr[-4000:]
    run = root / "gmvae_timbre" / "dry" / RUN
    checkpoint = load_checkpoint(run / "checkpoints" / "last.ckpt", "gmvae_timbre", ("M_GMVAE",))
    assert checkpoint["global_step"] == 2
    assert checkpoint["hyper_parameters"]["model"]["channels"] == 512 and checkpoint["musicrep"]["ranges"]
    resumed = train("gmvae_timbre", root, [*base, "trainer.max_steps=3", "ckpt_path=last"], probe / "resumed")
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    assert json.loads((probe / "resumed" / "rank0.json").read_text())["global_step"] == 3
    ranks = [json.loads((probe / f"rank{k}.json").read_text()) for k in range(2)]
    check_ranks(DryRun(run, ranks, {}, []))
    assert ranks[0]["global_step"] == 2
    examples = run / "examples"
    assert any(examples.rglob("*.wav")) and any(examples.rglob("*.png"))
