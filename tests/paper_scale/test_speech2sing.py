"""The `paper` preset at full size (width 512, batch 16 of whole samples) under 2 gloo ranks on the CPU, on the
tiny synthetic corpus: two training steps and a validation, finite losses, ranks in agreement, a checkpoint that
restores and resumes, validation clips long enough to hear, and each rank drawing its own crops and shifts."""

import pytest

from tests.paper_scale.harness import check_ranks, dry_run


@pytest.mark.slow
@pytest.mark.ddp
def test_the_paper_preset_runs_on_two_ranks(tmp_path):
    data = [f"data.root={tmp_path}/synthetic", "data.synthetic=true", "data.corpus_size=tiny", "data.num_workers=0",
            "trainer.val_check_interval=2", "trainer.limit_val_batches=1", "system=p_mtl"]
    dry = dry_run("speech2sing", tmp_path, data, sub_run="p_mtl")
    check_ranks(dry)
    # the same weights on both ranks but each rank's own batch: their last training losses differ
    losses = [r["metrics"]["train/loss"] for r in dry.ranks]
    assert losses[0] != losses[1], losses
    assert len(dry.audio_seconds) >= 3, dry.audio_seconds  # input, output and target of a validation sample
    assert all(seconds >= 1.0 for seconds in dry.audio_seconds.values()), dry.audio_seconds
