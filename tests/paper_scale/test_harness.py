"""The dry-run harness on the toy task: it must see the ranks agree and notice when they do not."""

import json

import pytest

from tests.paper_scale.harness import check_ranks, dry_run


@pytest.mark.ddp
def test_the_harness_checks_ranks_checkpoint_and_resume(tmp_path):
    dry = dry_run("tests.toy_task", tmp_path, ["data.n=64"], run_name="toy")
    check_ranks(dry)
    assert dry.ranks[0]["global_step"] == 2
    broken = json.loads(json.dumps(dry.ranks))
    broken[1]["state_sha256"] = "0" * 64
    dry.ranks = broken
    with pytest.raises(AssertionError):
        check_ranks(dry)
