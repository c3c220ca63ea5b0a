"""What a preset costs at scale, measured on this CPU and projected onto GPUs: ``python -m <package> plan``.

A package describes one training step of its preset with a :class:`PlanSpec` (its full-size model, a synthetic
batch of the preset's shapes, the loss of one step, the real training loader when the data is there). From it:

- parameters (and the paper's figure where it gives one);
- FLOPs of one training step per rank (forward + backward, ``torch.utils.flop_counter``), measured on a few
  items and scaled to the preset's batch (linear in the batch for every layer the project uses);
- activation memory per rank: the bytes autograd saves for backward, measured the same way, plus weights,
  gradients and Adam's two moments (16 bytes per fp32 parameter);
- the data loader's throughput on this CPU, against what N GPUs consume (when the preset's own data is not
  prepared, on the default preset's synthetic corpus read with the preset's shapes, labelled a stand-in);
- projected wall time on N A100- or H100-class GPUs: ``max_steps * (compute + all-reduce)``, with compute =
  FLOPs / (peak * MFU) and the all-reduce not overlapped (an upper bound; full overlap gives ``max``);
- DDP communication: a ring all-reduce sends ``2 (W - 1) / W`` times the gradient bytes per rank and step.

Every assumption (peak rates, MFU, link bandwidths) is printed with the table.
"""

from __future__ import annotations

import argparse
import itertools
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode


@dataclass(frozen=True)
class Gpu:
    name: str
    tflops: float  # dense TF32 tensor-core peak, the rate fp32 training gets with TF32 matmuls
    memory_gb: float
    link_gbps: float  # GB/s per GPU inside a node (NVLink)


GPUS = {"a100": Gpu("A100 80GB SXM", 156.0, 80.0, 300.0), "h100": Gpu("H100 80GB SXM", 495.0, 80.0, 450.0)}
INTERNODE_GBPS = 25.0  # GB/s per node between nodes (200 Gb/s InfiniBand)
MFU = 0.25  # fraction of the peak a training step reaches (convolutional audio models: 0.15-0.4)
ADAM_BYTES_PER_PARAM = 16  # fp32 weight, gradient and two moments


@dataclass
class PlanSpec:
    """One training step of a preset. ``make_batch(n)`` returns a batch of ``n`` items with the preset's
    shapes; ``loss(batch)`` runs the step's forward pass(es) and returns the scalar to backpropagate (every
    optimiser of the step summed); ``loader()`` returns the real training batches, or None when the data is not
    prepared; ``stand_in()`` returns the same loader on the default preset's synthetic corpus (None when that is
    not built either), measured in its place and labelled so; ``paper_params`` maps a part to the paper's
    parameter count."""

    model: torch.nn.Module
    make_batch: Callable[[int], Any]
    loss: Callable[[Any], torch.Tensor]
    batch_size: int
    max_steps: int
    loader: Callable[[], Iterable | None] | None = None
    stand_in: Callable[[], Iterable | None] | None = None
    paper_params: dict[str, int] = field(default_factory=dict)
    parts: dict[str, torch.nn.Module] = field(default_factory=dict)
    notes: str = ""


def parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def step_cost(spec: PlanSpec, items: int) -> tuple[float, float]:
    """(FLOPs, saved activation bytes) of one forward + backward on ``items`` items."""
    batch = spec.make_batch(items)
    saved = 0
    weights = {p.data_ptr() for p in spec.model.parameters()}  # saved for backward too, but not activations

    def pack(tensor: torch.Tensor):
        nonlocal saved
        if tensor.data_ptr() not in weights:
            saved += tensor.numel() * tensor.element_size()
        return tensor

    spec.model.zero_grad(set_to_none=True)
    with FlopCounterMode(display=False) as counter, torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        spec.loss(batch).backward()
    spec.model.zero_grad(set_to_none=True)
    return float(counter.get_total_flops()), float(saved)


def loader_rate(loader: Iterable, seconds: float = 20.0, batches: int = 50) -> float:
    """Items per second the loader delivers (after its first batch), over at most ``seconds`` or ``batches``."""
    iterator = iter(loader)
    next(iterator)
    start, items = time.perf_counter(), 0
    for batch in itertools.islice(iterator, batches):
        items += len(batch[0] if isinstance(batch, list | tuple) else next(iter(batch.values()))
                     if isinstance(batch, dict) else batch)
        if time.perf_counter() - start > seconds:
            break
    return items / max(time.perf_counter() - start, 1e-9)


def allreduce_bytes(gradient_bytes: float, world: int) -> float:
    """Bytes each rank sends per step in a ring all-reduce of ``gradient_bytes``."""
    return 2 * (world - 1) / world * gradient_bytes if world > 1 else 0.0


def plan(spec: PlanSpec, gpus: int, nodes: int = 1, gpu: str = "a100", probe_items: int = 2,
         loader_seconds: float = 20.0) -> dict:
    """The plan of ``spec`` on ``gpus`` GPUs per node times ``nodes`` nodes (see the module docstring)."""
    device = GPUS[gpu]
    world = gpus * nodes
    n = min(probe_items, spec.batch_size)
    flops, saved = step_cost(spec, n)
    scale = spec.batch_size / n
    params = parameters(spec.model)
    grad_bytes = 4.0 * sum(p.numel() for p in spec.model.parameters() if p.requires_grad)
    compute_s = flops * scale / (device.tflops * 1e12 * MFU)
    sent = allreduce_bytes(grad_bytes, world)
    bandwidth = device.link_gbps if nodes == 1 else min(device.link_gbps, INTERNODE_GBPS / gpus)
    comm_s = sent / (bandwidth * 1e9)
    step_s = compute_s + comm_s
    consume = world * spec.batch_size / step_s
    rate, source = None, "none prepared"
    for name, make in (("the preset's data", spec.loader), ("the default's synthetic corpus, a stand-in",
                                                            spec.stand_in)):
        batches = make() if make is not None else None
        if batches is not None:
            rate, source = loader_rate(batches, loader_seconds), name
            break
    return {
        "gpu": device.name, "gpus_per_node": gpus, "nodes": nodes, "world": world,
        "params": params, "parts": {k: parameters(m) for k, m in spec.parts.items()},
        "paper_params": spec.paper_params, "batch_per_rank": spec.batch_size, "max_steps": spec.max_steps,
        "flops_per_step": flops * scale, "activation_gb": saved * scale / 1e9,
        "state_gb": params * ADAM_BYTES_PER_PARAM / 1e9, "compute_s": compute_s, "allreduce_mb": sent / 1e6,
        "comm_s": comm_s, "step_s": step_s, "hours": spec.max_steps * step_s / 3600,
        "hours_overlapped": spec.max_steps * max(compute_s, comm_s) / 3600,
        "items_per_s_needed": consume, "loader_items_per_s": rate, "loader_data": source,
        "loader_workers_needed": math.ceil(consume / rate) if rate else None,
        "assumptions": f"{device.name}: {device.tflops:g} TFLOPS TF32 peak at MFU {MFU:g}; all-reduce over "
                       f"{bandwidth:g} GB/s ({'NVLink' if nodes == 1 else 'inter-node'}), not overlapped; "
                       "loader measured in one process on this CPU",
        "notes": spec.notes,
    }


def stand_in_config(cfg, schema: type, package: str, keys: tuple[str, ...]):
    """``cfg`` reading the default preset's corpus instead of its own: the default's ``data.<key>`` for each of
    ``keys`` (where the corpus is, which one, its size), every other key (rate, segment, batch) the preset's."""
    from omegaconf import OmegaConf

    from common.lightning.config import load_config

    default = load_config(schema, package, "default")
    return OmegaConf.merge(cfg, {"data": {k: default.data[k] for k in keys}})


def si(x: float, unit: str = "") -> str:
    for factor, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= factor:
            return f"{x / factor:.3g} {prefix}{unit}"
    return f"{x:.3g} {unit}".strip()


def duration(hours: float) -> str:
    """``hours`` as hours, minutes or seconds, whichever reads best: 32.6 h, 4.1 min, 40 s."""
    if hours >= 1:
        return f"{hours:.1f} h"
    return f"{hours * 60:.1f} min" if hours * 60 >= 1 else f"{hours * 3600:.0f} s"


def format_plan(p: dict) -> str:
    """The plan as a two-column markdown table, then its assumptions."""
    paper = ", ".join(f"{k} {si(v)}" for k, v in p["paper_params"].items()) or "not given"
    parts = ", ".join(f"{k} {si(v)}" for k, v in p["parts"].items())
    loader = ("no data prepared" if p["loader_items_per_s"] is None else
              f"{p['loader_items_per_s']:.1f} items/s per process on {p['loader_data']} -> "
              f"{p['loader_workers_needed']} loader processes in all")
    rows = [
        ("GPUs", f"{p['world']} x {p['gpu']} ({p['nodes']} node(s))"),
        ("parameters", f"{si(p['params'])}" + (f" ({parts})" if parts else "") + f"; paper: {paper}"),
        ("batch per rank / steps", f"{p['batch_per_rank']} / {p['max_steps']:,}"),
        ("FLOPs per step per rank", si(p["flops_per_step"], "FLOP")),
        ("memory per rank", f"{p['activation_gb']:.2f} GB activations + {p['state_gb']:.2f} GB weights, "
                            "gradients, Adam"),
        ("all-reduce per step per rank", f"{p['allreduce_mb']:.1f} MB ({p['comm_s'] * 1e3:.1f} ms)"),
        ("step time", f"{p['step_s'] * 1e3:.1f} ms (compute {p['compute_s'] * 1e3:.1f} ms)"),
        ("data needed", f"{p['items_per_s_needed']:.0f} items/s; {loader}"),
        ("projected wall time", f"{duration(p['hours'])} ({duration(p['hours_overlapped'])} with the all-reduce "
                                "overlapped)"),
    ]
    table = "| | |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)
    return f"{table}\n\nAssumptions: {p['assumptions']}." + (f" {p['notes']}" if p["notes"] else "") + "\n"


def run_plan(spec: PlanSpec, cfg, args: argparse.Namespace) -> dict:
    """The ``plan`` verb's body: prints the table, writes ``--json`` if asked; returns the plan."""
    import json

    from common.checks import output_file

    out = output_file(args.json, "--json", (".json",)) if args.json else None
    result = plan(spec, args.gpus or cfg.trainer.devices, args.nodes or cfg.trainer.num_nodes, args.gpu)
    print(format_plan(result), end="")
    if out:
        out.write_text(json.dumps(result, indent=2))
    return result
