"""The Makefile turns GPUS/NODES/CONFIG/DATA/ARGS into the right launch command (checked with make -n)."""

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def dry_run(target: str, *variables: str, env: dict | None = None) -> str:
    """The last command ``make -n`` prints (run as a top-level make, even when the tests run under make)."""
    env = {k: v for k, v in (env or os.environ).items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    result = subprocess.run(["make", "-n", "--no-print-directory", "-o", ".venv/.installed", target, *variables],
                            cwd=REPO, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_gpus_8_is_a_single_node_ddp_run_on_8_devices():
    line = dry_run("train-translation", "GPUS=8")
    assert line.startswith(".venv/bin/python -m music_translation train --config default")
    assert "trainer.accelerator=gpu trainer.devices=8" in line and "num_nodes" not in line


def test_gpus_0_is_cpu_and_config_data_args_pass_through():
    line = dry_run("train-davae", "GPUS=0", "CONFIG=paper", "DATA=/data/MAPS", "ARGS=run.name=exp trainer.max_steps=5")
    assert "-m da_vae train --config paper trainer.accelerator=cpu trainer.devices=1" in line
    assert "data.root=/data/MAPS" in line and line.endswith("run.name=exp trainer.max_steps=5")


def test_nodes_use_torchrun_or_srun():
    line = dry_run("train-gmvae", "GPUS=4", "NODES=2", "NODE_RANK=1", "MASTER_ADDR=10.1.2.3")
    assert line.startswith(".venv/bin/torchrun --nnodes=2 --nproc-per-node=4 --node-rank=1 "
                           "--master-addr=10.1.2.3 --master-port=29500 -m gmvae_timbre train")
    assert "trainer.num_nodes=2" in line
    line = dry_run("train-realtime", "GPUS=4", "NODES=3", env={**os.environ, "SLURM_JOB_ID": "42"})
    assert line.startswith("srun .venv/bin/python -m realtime_ae train") and "trainer.num_nodes=3" in line


def test_every_paper_has_train_and_eval_targets():
    for paper, package in [("davae", "da_vae"), ("translation", "music_translation"),
                           ("speech2sing", "speech2sing"), ("gmvae", "gmvae_timbre"), ("realtime", "realtime_ae")]:
        assert f"-m {package} train" in dry_run(f"train-{paper}")
        assert f"-m {package} eval" in dry_run(f"eval-{paper}")
    assert "-m common.eval_all --config default" in dry_run("eval-all")
    assert '-m pytest -m "not slow"' in dry_run("test")
