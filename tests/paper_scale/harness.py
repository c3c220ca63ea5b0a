"""Full-size dry runs of a `paper` preset on the CPU: two training steps and a validation under 2 gloo ranks, then
the checks every paper's slow test shares (finite losses, ranks agree, the checkpoint restores and resumes, the
media panels are long enough to use)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from common.lightning.checkpoint import load_checkpoint
from common.lightning.dryrun import ENV

REPO = Path(__file__).resolve().parents[2]


@dataclass
class DryRun:
    run: Path
    ranks: list[dict]
    audio_seconds: dict[str, float]  # example name -> duration of its validation clip
    images: list[str]


def train(package: str, root: Path, overrides: list[str], probe: Path | None = None, timeout: float = 3000):
    env = {**{k: v for k, v in os.environ.items() if k != "WANDB_SERVICE"}, "PYTHONPATH": str(REPO),
           "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    if probe:
        env[ENV] = str(probe)
    cmd = [sys.executable, "-m", package, "train", "--config", "paper", f"run.root={root}", "trainer.accelerator=cpu",
           "threads=1", *overrides]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def dry_run(package: str, tmp_path: Path, overrides: list[str], run_name: str = "dry", steps: int = 2,
            sub_run: str = "") -> DryRun:
    """Train ``steps`` steps of the paper preset under 2 gloo ranks (``overrides`` shrink the data, never the
    model), resume one more step from ``last.ckpt``, and collect what the checks need."""
    root, probe = tmp_path / "runs", tmp_path / "probe"
    base = [f"run.name={run_name}", "trainer.devices=2", f"trainer.max_steps={steps}", *overrides]
    result = train(package, root, base, probe)
    assert result.returncode == 0, result.stderr[-4000:]
    ranks = [json.loads((probe / f"rank{k}.json").read_text()) for k in range(2)]
    run = root / package / run_name / sub_run  # sub_run: a package that trains into <run.name>/<model>/
    checkpoint = load_checkpoint(run / "checkpoints" / "last.ckpt", package)
    assert checkpoint["global_step"] == steps
    resumed = train(package, root, [*base[:-1 - len(overrides)], f"trainer.max_steps={steps + 1}", *overrides,
                                    "ckpt_path=last"], probe / "resumed")
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    assert json.loads((probe / "resumed" / "rank0.json").read_text())["global_step"] == steps + 1
    audio = {p.stem: sf.info(p).duration for p in sorted((run / "examples").rglob("*.wav"))}
    images = [p.stem for p in sorted((run / "examples").rglob("*.png"))]
    return DryRun(run, ranks, audio, images)


def check_ranks(dry: DryRun) -> None:
    """Both ranks ran, saw finite metrics and hold identical parameters and buffers."""
    assert [r["world_size"] for r in dry.ranks] == [2, 2]
    assert all(r["finite"] for r in dry.ranks), [r["metrics"] for r in dry.ranks]
    assert dry.ranks[0]["state_sha256"] == dry.ranks[1]["state_sha256"]
