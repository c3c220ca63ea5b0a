"""The `paper` preset at full size under 2 gloo ranks on the CPU (slow): two training steps and a validation on the
tiny corpus, the ranks agree, the checkpoint restores and resumes, the validation audio panels are whole clips;
and the `plan` verb's figures for this network."""


import pytest

from realtime_ae.scale import plan_spec
from tests.paper_scale.harness import check_ranks, dry_run

PAPER_PARAMS = 5_612_771  # 2061-1024-512-256-128-64-32-16-2 encoder, (2+12)-16-...-1024-2049 decoder


@pytest.mark.slow
@pytest.mark.ddp
def test_paper_preset_runs_at_full_size_on_two_ranks(tmp_path):
    data = [f"data.root={tmp_path}/synthetic", f"data.cache={tmp_path}/cache", "data.corpus_size=tiny",
            "model.bottleneck=2"]
    dry = dry_run("realtime_ae", tmp_path, data)
    check_ranks(dry)
    assert dry.ranks[0]["global_step"] == 2 and dry.ranks[0]["metrics"]["val/loss"] > 0
    assert set(dry.audio_seconds) >= {"input", "output"}
    assert all(seconds > 5.0 for seconds in dry.audio_seconds.values()), dry.audio_seconds  # a whole val clip


def test_plan_counts_the_paper_network():
    from common.lightning import load_config
    from realtime_ae.config import RealtimeAeConfig

    cfg = load_config(RealtimeAeConfig, "realtime_ae", "paper", ["model.bottleneck=2", "data.root=/nonexistent"])
    spec = plan_spec(cfg, world=8)
    assert sum(p.numel() for p in spec.model.parameters()) == PAPER_PARAMS
    assert spec.max_steps == 300 * -(-17_000 // (200 * 8)) and spec.loader() is None
    from common.plan import plan

    result = plan(spec, gpus=8)
    assert 0 < result["activation_gb"] < 0.1  # batch 200 x a few thousand floats per layer, not the weights
    assert result["allreduce_mb"] == pytest.approx(2 * 7 / 8 * 4 * PAPER_PARAMS / 1e6)
