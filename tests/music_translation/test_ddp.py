"""Every decoder trains under DDP (2 CPU processes, gloo), and the ranks end with identical weights; the same
with two torchrun "nodes" on localhost."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from music_translation import data, inference
from music_translation.augment import random_spans, step_generator

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_run(tiny, name: str) -> None:
    out = tiny.root / "runs/music_translation" / name
    sums = json.loads((out / "rank_checksums.json").read_text())
    assert sums["world_size"] == 2 and sums["checksums"][0] == sums["checksums"][1]
    module = inference.load_module(out / "checkpoints/last.ckpt")
    torch.manual_seed(0)
    fresh = type(module)(**module.hparams)
    for i in range(3):  # 3 domains over 2 ranks: every decoder trained
        assert not torch.allclose(fresh.net.decoders[i].head[3].weight, module.net.decoders[i].head[3].weight), i
    assert not torch.allclose(fresh.net.encoder.out.weight, module.net.encoder.out.weight)
    assert int(module.batches_done) == 6
    check_draws(tiny, sums["first_steps"])


def check_draws(tiny, first_steps: list) -> None:
    """Each rank crops and augments its own segments, and both are what (seed, rank, step) gives."""
    draws = np.array(first_steps)  # rank x step x item x (crop checksum, start, length, semitones)
    assert draws.shape[:2] == (2, 4)
    for column in range(4):
        assert not np.array_equal(draws[0, :, :, column], draws[1, :, :, column]), column
    cfg = tiny.config()
    rate, a = cfg.data.sample_rate, cfg.augment
    domains = [data.DomainAudio(cfg, name, "train") for name in cfg.data.domains]
    for rank in (0, 1):
        batches = data.RandomSegmentBatches(domains, cfg.data.batch_size, data.segment_samples(cfg), 4,
                                            cfg.run.seed, rank, 2)
        for step, batch in enumerate(batches):
            length = batch["codes"].shape[1]
            spans = random_spans(len(batch["codes"]), length, rate, a.min_seconds, a.max_seconds, a.max_semitones,
                                 step_generator(cfg.run.seed, rank, step))
            expected = np.stack([batch["codes"].sum(1).numpy(), *(v.numpy() for v in spans)], 1)
            np.testing.assert_allclose(draws[rank, step], expected, rtol=1e-6)


@pytest.mark.ddp
def test_two_cpu_ranks_train_every_decoder_and_agree(tiny):
    cmd = [sys.executable, "-m", "music_translation", "train", *tiny.args("run.name=ddp", "trainer.devices=2",
                                                                          "trainer.max_steps=6")]
    result = subprocess.run(cmd, cwd=REPO, env=ENV, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    check_run(tiny, "ddp")


@pytest.mark.ddp
@pytest.mark.slow
def test_two_torchrun_nodes_on_localhost(tiny):
    port = free_port()
    procs = [subprocess.Popen(
        [str(Path(sys.executable).parent / "torchrun"), "--nnodes=2", "--nproc-per-node=1", f"--node-rank={rank}",
         "--master-addr=127.0.0.1", f"--master-port={port}", "-m", "music_translation", "train",
         *tiny.args("run.name=nodes", "trainer.num_nodes=2", "trainer.devices=1", "trainer.max_steps=6")],
        cwd=REPO, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for rank in (0, 1)]
    errors = [p.communicate(timeout=600)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors[0][-2000:] + errors[1][-2000:]
    check_run(tiny, "nodes")
