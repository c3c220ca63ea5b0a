"""End-to-end runs of the toy task through the real CLI and Trainer factory, in subprocesses."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.lightning.wandb_records import history

REPO = Path(__file__).resolve().parents[2]


def toy(root: Path, *overrides: str, wait: bool = True, timeout: float = 300):
    cmd = [sys.executable, "-m", "tests.toy_task", "train", f"run.root={root}", *overrides]
    # its own W&B service: one this pytest process started (and exported in WANDB_SERVICE) would outlive a
    # killed launch and still hold its run id when the resumed launch asks for it
    env = {**{k: v for k, v in os.environ.items() if k != "WANDB_SERVICE"}, "PYTHONPATH": str(REPO),
           "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    if not wait:
        return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=True)
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def run_path(root: Path) -> Path:
    return root / "tests.toy_task" / "toy"


def load(path: Path):
    return torch.load(path, map_location="cpu", weights_only=False)


def csv_rows(directory: Path) -> list[dict]:
    rows = []
    for version in sorted((directory / "csv").glob("version_*"), key=lambda p: int(p.name.split("_")[1])):
        with open(version / "metrics.csv") as f:
            rows += list(csv.DictReader(f))
    return rows


@pytest.mark.ddp
def test_ddp_two_cpu_ranks_end_with_identical_parameters(tmp_path):
    """Parameters and batch-norm running statistics (synchronised batch norm, on by default under DDP)."""
    result = toy(tmp_path, "trainer.devices=2", "trainer.max_steps=25", "model.batchnorm=true")
    assert result.returncode == 0, result.stderr[-3000:]
    out = run_path(tmp_path)
    start, end0, end1 = (load(out / name) for name in
                         ("train_start_rank0.pt", "params_rank0.pt", "params_rank1.pt"))
    assert '"world_size": 2' in (out / "end_rank1.json").read_text()
    assert "norm.running_mean" in end0
    for key in end0:
        assert torch.equal(end0[key], end1[key]), key
    assert not torch.allclose(start["params"]["linear.weight"], end0["linear.weight"])
    last = load(out / "checkpoints" / "last.ckpt")  # saved every 10 steps, and at the end
    assert last["global_step"] == 25 and torch.equal(last["state_dict"]["linear.weight"], end0["linear.weight"])


def test_sigkill_mid_run_then_resume_continues_from_last_checkpoint(tmp_path):
    out = run_path(tmp_path)
    last = out / "checkpoints" / "last.ckpt"
    args = ("trainer.max_steps=60", "trainer.checkpoint_every_n_steps=5")
    proc = toy(tmp_path, *args, "model.step_sleep=0.1", wait=False)
    deadline = time.time() + 180
    try:
        while time.time() < deadline:
            if last.is_file() and load(last)["global_step"] >= 15:
                break
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            time.sleep(0.2)
        else:
            pytest.fail("no checkpoint at step >= 15 within 180 s")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    saved = load(last)
    saved_step = saved["global_step"]
    assert 15 <= saved_step < 60

    result = toy(tmp_path, *args, "ckpt_path=last")
    assert result.returncode == 0, result.stderr[-3000:]
    resumed = load(out / "train_start_rank0.pt")
    assert resumed["global_step"] == saved_step
    for key, value in saved["state_dict"].items():
        assert torch.equal(resumed["params"][key], value), key
    saved_opt, resumed_opt = saved["optimizer_states"][0], resumed["optimizer"]
    assert resumed_opt["param_groups"][0]["lr"] == saved_opt["param_groups"][0]["lr"]
    for index, state in saved_opt["state"].items():
        for name, tensor in state.items():
            assert torch.equal(resumed_opt["state"][index][name], tensor), (index, name)
    assert '"global_step": 60' in (out / "end_rank0.json").read_text()
    steps = [int(r["step"]) for r in csv_rows(out) if r.get("train/loss")]
    assert steps == sorted(steps) and max(steps) == 59  # the first launch's rows are kept


def test_wandb_offline_run_holds_metrics_and_examples(tmp_path):
    result = toy(tmp_path, "logger.wandb=true", "trainer.max_steps=40")
    assert result.returncode == 0, result.stderr[-3000:]
    out = run_path(tmp_path)
    runs = list((out / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(runs) == 1
    rows = history(runs[0])
    losses = [row["train/loss"] for row in rows if "train/loss" in row]
    assert len(losses) >= 5 and losses[-1] < losses[0]
    assert any("val/loss" in row for row in rows)
    audio = [row for row in rows if row.get("examples/sine/_type") == "audio"]
    assert audio and audio[0]["examples/sine/sampleRates"] == [8000]
    assert any("examples/sine/spectrogram/filenames" in row for row in rows)
    media = runs[0].parent / "files" / "media"
    assert list(media.glob("audio/examples/sine_*.wav")) and list(media.glob("images/examples/*.png"))
    assert (out / "examples" / "step-20" / "sine.wav").is_file()
    assert (out / "examples" / "step-40" / "sine_spectrogram.png").is_file()
    assert (out / "wandb_id").read_text().strip() in runs[0].name


def test_non_finite_loss_stops_with_a_clear_message(tmp_path):
    result = toy(tmp_path, "model.nan_at_step=13", "trainer.max_steps=40")
    assert result.returncode == 2
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("error: training loss became nan at global step 13"), last_line
    out = run_path(tmp_path)
    assert not (out / "end_rank0.json").exists()
    checkpoint = load(out / "checkpoints" / "last.ckpt")
    assert 10 <= checkpoint["global_step"] <= 13
    assert all(torch.isfinite(v).all() for v in checkpoint["state_dict"].values())


def test_missing_checkpoint_path_is_a_one_line_error_before_anything_is_written(tmp_path):
    result = toy(tmp_path, f"ckpt_path={tmp_path / 'nope.ckpt'}")
    assert result.returncode == 2
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith(f"error: ckpt_path={tmp_path / 'nope.ckpt'}: no such checkpoint"), last_line
    assert not (run_path(tmp_path) / "config.yaml").exists()
