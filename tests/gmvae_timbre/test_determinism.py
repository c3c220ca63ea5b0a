"""Two processes with the same seed train the same model: different string-hash seeds, validation every few
epochs with rendered audio examples in one and almost never in the other, and still the same training losses
and the same weights (validation, its data loader and the example rendering draw from their own generators)."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import torch

from gmvae_timbre import data
from tests.project import THREADS

ROOT = Path(__file__).resolve().parents[2]


def start_training(tiny, name: str, hash_seed: str, *overrides: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": hash_seed, "WANDB_MODE": "offline"}
    args = [sys.executable, "-m", "gmvae_timbre", "train", *tiny.overrides, f"run.name={name}",
            "model.kind=gmvae", "data.label_fraction=50", "trainer.max_steps=16", "logger.wandb=false", *overrides]
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def finished_run(tiny, name: str, process: subprocess.Popen) -> Path:
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-2000:]
    return tiny.root / "runs" / "gmvae_timbre" / name / f"gmvae-N50-seed0-threads{THREADS}"


def training_losses(run: Path) -> list[tuple[str, str]]:
    with open(next(run.glob("csv/version_*/metrics.csv"))) as handle:
        return [(row["step"], row["train/loss"]) for row in csv.DictReader(handle) if row.get("train/loss")]


def test_two_processes_with_the_same_seed_give_identical_losses_and_weights(tiny):
    data.prepare(tiny.config())  # the corpus and feature cache exist before the two processes start
    often = start_training(tiny, "det-a", "1", "trainer.check_val_every_n_epoch=2", "trainer.log_every_n_steps=1",
                           "logger.examples_every_n_epochs=1")
    rarely = start_training(tiny, "det-b", "2", "trainer.check_val_every_n_epoch=100", "trainer.log_every_n_steps=1",
                            "logger.examples_every_n_epochs=0")  # both at once, in parallel
    often, rarely = finished_run(tiny, "det-a", often), finished_run(tiny, "det-b", rarely)
    assert list((often / "examples").rglob("*.wav"))  # the first run did render examples
    losses = training_losses(often)
    assert len(losses) == 16 and losses == training_losses(rarely)
    a, b = (torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"] for run in (often, rarely))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
