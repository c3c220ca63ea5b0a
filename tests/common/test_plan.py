"""The plan's measured FLOPs and activations on a model whose cost is known by hand, and its projections."""

import argparse
import json

import pytest
import torch

from common.plan import PlanSpec, allreduce_bytes, format_plan, plan, run_plan, step_cost

A, B, C = 16, 32, 8


def mlp_spec(batch_size=8, max_steps=1000, loader=None):
    model = torch.nn.Sequential(torch.nn.Linear(A, B), torch.nn.ReLU(), torch.nn.Linear(B, C))
    return PlanSpec(model=model, make_batch=lambda n: torch.randn(n, A), loss=lambda x: model(x).square().mean(),
                    batch_size=batch_size, max_steps=max_steps, loader=loader, paper_params={"mlp": 800})


def test_step_flops_are_forward_plus_backward_of_every_matmul():
    flops, saved = step_cost(mlp_spec(), 4)
    n = 4  # forward 2nAB + 2nBC; backward: both weight grads, and the input grad of the second layer only
    assert flops == 2 * n * A * B + 2 * n * B * C + 2 * n * B * C + 2 * n * B * C + 2 * n * A * B
    assert saved >= 4 * n * (A + B)  # at least the two layers' inputs


def test_plan_scales_the_probe_to_the_preset_batch_and_counts_the_all_reduce():
    spec = mlp_spec(batch_size=8)
    one = plan(spec, gpus=1, probe_items=2)
    eight = plan(spec, gpus=8, probe_items=2)
    assert one["flops_per_step"] == pytest.approx(step_cost(spec, 8)[0])
    assert one["params"] == A * B + B + B * C + C
    assert one["allreduce_mb"] == 0 and eight["allreduce_mb"] * 1e6 == pytest.approx(2 * 7 / 8 * 4 * one["params"])
    assert eight["step_s"] > one["step_s"] and eight["hours"] == pytest.approx(1000 * eight["step_s"] / 3600)
    two_nodes = plan(spec, gpus=8, nodes=2)
    assert two_nodes["comm_s"] > eight["comm_s"]  # the inter-node link is the slower one
    assert allreduce_bytes(100.0, 1) == 0 and allreduce_bytes(100.0, 2) == 100.0


def test_plan_measures_the_loader_and_writes_json(tmp_path, capsys):
    batches = [(torch.zeros(8, A),)] * 60
    spec = mlp_spec(loader=lambda: batches)
    args = argparse.Namespace(gpus=4, nodes=1, gpu="h100", json=str(tmp_path / "plan.json"))
    cfg = argparse.Namespace(trainer=argparse.Namespace(devices=1, num_nodes=1))
    result = run_plan(spec, cfg, args)
    assert result["loader_items_per_s"] > 0 and result["loader_workers_needed"] >= 1
    assert json.loads((tmp_path / "plan.json").read_text())["world"] == 4
    out = capsys.readouterr().out
    assert "4 x H100" in out and "paper: mlp 800" in out and "projected wall time" in out
    assert "no data prepared" in format_plan(plan(mlp_spec(), 1))


def test_plan_measures_the_stand_in_only_when_the_preset_has_no_data_and_says_so():
    batches = [(torch.zeros(8, A),)] * 60
    spec = mlp_spec(loader=lambda: None)
    spec.stand_in = lambda: batches
    result = plan(spec, 1)
    assert result["loader_items_per_s"] > 0 and "stand-in" in result["loader_data"]
    assert "a stand-in" in format_plan(result)
    spec.loader = lambda: batches
    spec.stand_in = lambda: pytest.fail("the stand-in is read although the preset's data is there")
    assert plan(spec, 1)["loader_data"] == "the preset's data"
    spec.loader = lambda: None
    spec.stand_in = lambda: None
    assert plan(spec, 1)["loader_items_per_s"] is None
