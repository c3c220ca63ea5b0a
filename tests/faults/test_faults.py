"""Faults and bad inputs a new user meets, each answered by one clear line (or a safe recovery) in `common`."""

import errno
import logging
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from common.lightning import main
from common.lightning.checkpoint import PREVIOUS
from common.lightning.config import load_config
from common.lightning.trainer import batchnorm_sync, trainer_kwargs
from tests.lightning.test_training import REPO, load, run_path, toy
from tests.toy_task.__main__ import VERBS
from tests.toy_task.module import ToyConfig

PKG = "tests.toy_task"


def train(root, *overrides):
    """The toy's `train` verb in this process (fast: torch and Lightning are already imported)."""
    return main(PKG, ToyConfig, VERBS, ["train", f"run.root={root}", "logger.wandb=false", *overrides])


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    return err


# -- nothing lost on kill and resume ---------------------------------------------------------------------------

def test_truncated_last_checkpoint_falls_back_to_the_one_before(tmp_path, caplog):
    assert train(tmp_path, "trainer.max_steps=20") == 0
    checkpoints = run_path(tmp_path) / "checkpoints"
    assert load(checkpoints / PREVIOUS)["global_step"] == 20 and (checkpoints / "last.ckpt").is_file()
    data = (checkpoints / "last.ckpt").read_bytes()
    (checkpoints / "last.ckpt").write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING):
        assert train(tmp_path, "trainer.max_steps=30", "ckpt_path=last") == 0
    assert f"resuming from the checkpoint before it, {checkpoints / PREVIOUS}" in caplog.text
    assert load(checkpoints / "last.ckpt")["global_step"] == 30


def test_both_checkpoints_unreadable_is_one_line_and_creates_nothing(tmp_path, capsys):
    assert train(tmp_path, "trainer.max_steps=10") == 0
    out = run_path(tmp_path)
    for name in ("last.ckpt", PREVIOUS):
        (out / "checkpoints" / name).write_bytes(b"PK\x03\x04 torn")
    versions = sorted((out / "csv").iterdir())
    capsys.readouterr()
    assert train(tmp_path, "trainer.max_steps=20", "ckpt_path=last") == 2
    err = one_error_line(capsys)
    assert "last.ckpt is unreadable" in err and PREVIOUS in err and "ckpt_path=null" in err
    assert sorted((out / "csv").iterdir()) == versions  # no new, empty CSV version


def test_disk_full_while_checkpointing_is_one_line_and_leaves_no_partial_file(tmp_path, capsys, monkeypatch):
    from pytorch_lightning.plugins.io import TorchCheckpointIO

    def full(self, checkpoint, path, storage_options=None):
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(b"half a checkpoint")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(TorchCheckpointIO, "save_checkpoint", full)
    assert train(tmp_path, "trainer.max_steps=20") == 2
    err = one_error_line(capsys)
    assert "last.ckpt: could not write the checkpoint (No space left on device)" in err
    assert not list(run_path(tmp_path).rglob("*.partial"))


def test_read_only_run_root_is_one_line_before_training(capsys):
    assert train("/sys/fs/musicrep-runs", "trainer.max_steps=20") == 2
    err = one_error_line(capsys)
    assert "/sys/fs/musicrep-runs/tests.toy_task/toy: cannot write the run folder" in err and "run.root" in err


def test_batchnorm_statistics_agree_under_ddp_only():
    """SyncBatchNorm on GPUs, averaged running statistics on CPU (torch's SyncBatchNorm needs CUDA); the 2-rank
    CPU run of tests/lightning checks that the ranks end with identical statistics."""
    def trainer(*overrides):
        return load_config(ToyConfig, PKG, "default", list(overrides)).trainer

    assert batchnorm_sync(trainer("trainer.devices=2", "trainer.accelerator=cpu")) == "average"
    assert batchnorm_sync(trainer("trainer.devices=8", "trainer.accelerator=gpu")) == "sync"
    assert trainer_kwargs(trainer("trainer.devices=8", "trainer.accelerator=gpu"))["sync_batchnorm"] is True
    assert batchnorm_sync(trainer("trainer.devices=1")) is None
    assert batchnorm_sync(trainer("trainer.devices=2", "trainer.sync_batchnorm=false")) is None


# -- clear words at the command line ---------------------------------------------------------------------------

def test_gpus_asked_for_without_a_gpu_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    assert train(tmp_path, "trainer.accelerator=gpu", "trainer.devices=2") == 2
    err = one_error_line(capsys)
    assert "trainer.devices=2 GPU(s) asked for (GPUS=2)" in err and "torch sees 0" in err and "GPUS=0" in err
    assert not (tmp_path / PKG).exists()


def test_a_monitor_key_validation_never_logs_is_one_line(tmp_path, capsys):
    assert train(tmp_path, "trainer.max_steps=30", "trainer.monitor=val/nope") == 2
    err = one_error_line(capsys)
    assert "trainer.monitor='val/nope' is not logged by validation (it logs ['val/loss'])" in err


def test_training_is_quiet_by_default_and_verbose_with_v(tmp_path):
    quiet = toy(tmp_path / "q", "trainer.max_steps=20")
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    for noise in ("Tip", "litlogger", "GPU available", "LeafSpec", "weights_only", "could not find the monitored",
                  "Total params", "Seed set"):
        assert noise not in quiet.stdout + quiet.stderr, noise
    verbose = toy(tmp_path / "v", "trainer.max_steps=20", "-v")
    assert "GPU available" in verbose.stdout + verbose.stderr and "Total params" in verbose.stdout + verbose.stderr


def test_lightning_imported_after_the_cli_configured_logging_stays_quiet():
    """The paper packages' verbs import Lightning lazily, after the CLI has set its loggers to WARNING; Lightning
    sets its own logger back to INFO on import, so the quiet default must hold on the output side too."""
    code = ("import logging; logging.basicConfig(level='INFO', format='%(levelname)s %(name)s: %(message)s');"
            "from common.lightning.verbosity import configure_logging; configure_logging('warning');"
            "import pytorch_lightning; logging.getLogger('pytorch_lightning.utilities.rank_zero').info('NOISE');"
            "logging.getLogger('da_vae').info('OURS')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert "OURS" in out.stderr and "NOISE" not in out.stderr, out.stderr[-2000:]


def test_help_and_config_import_neither_torch_nor_lightning():
    probe = ("import runpy, sys; sys.argv = ['da_vae'] + sys.argv[1:]\n"
             "try:\n    runpy.run_module('da_vae', run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             "print(sorted(m for m in ('torch', 'pytorch_lightning', 'wandb') if m in sys.modules), file=sys.stderr)")
    for args in (["--help"], ["config", "threads=1"], ["train", "nope=1"]):
        result = subprocess.run([sys.executable, "-c", probe, *args], cwd=REPO, capture_output=True, text=True)
        assert result.stderr.strip().splitlines()[-1] == "[]", (args, result.stderr[-500:])


def test_threads_reach_torch_when_it_is_imported_after_the_config():
    code = ("from common.lightning.cli import set_threads\nset_threads(1)\n"
            "import torch\nprint(torch.get_num_threads())")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "2"})
    assert result.stdout.strip() == "1", result.stderr[-500:]



def test_killed_and_resumed_run_equals_an_uninterrupted_one_with_every_step_logged_once(tmp_path):
    """SIGKILL after a checkpoint, resume with ckpt_path=last: the same final weights as a run never killed
    (deterministic CPU run, resumable data order and random state), and the CSV and the offline W&B run each
    hold exactly one train/loss per logged step."""
    from tests.lightning.test_training import csv_rows
    from tests.lightning.wandb_records import history

    args = ("trainer.max_steps=60", "trainer.checkpoint_every_n_steps=10", "trainer.log_every_n_steps=5",
            "trainer.deterministic=true", "logger.wandb=true", "model.batchnorm=true")
    straight = toy(tmp_path / "straight", *args)
    assert straight.returncode == 0, straight.stderr[-2000:]

    killed = tmp_path / "killed"
    last = run_path(killed) / "checkpoints" / "last.ckpt"
    proc = toy(killed, *args, "model.step_sleep=0.15", wait=False)
    try:
        deadline = time.time() + 240
        while not (last.is_file() and load(last)["global_step"] >= 20):
            assert proc.poll() is None and time.time() < deadline, "no checkpoint at step >= 20 in time"
            time.sleep(0.2)
        time.sleep(1.0)  # let it log past the checkpoint, so there is something to supersede
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    resumed = toy(killed, *args, "ckpt_path=last")
    assert resumed.returncode == 0, resumed.stderr[-2000:]

    for key, value in load(run_path(tmp_path / "straight") / "params_rank0.pt").items():
        assert torch.equal(load(run_path(killed) / "params_rank0.pt")[key], value), key
    logged = list(range(4, 60, 5))  # Lightning logs every 5th step: 4, 9, ..., 59
    csv_steps = [int(r["step"]) for r in csv_rows(run_path(killed)) if r.get("train/loss")]
    assert csv_steps == logged
    runs = list((run_path(killed) / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(runs) == 1 and list((run_path(killed) / "wandb" / "superseded").glob("offline-run-*"))
    wandb_steps = [row["trainer/global_step"] for row in history(runs[0]) if "train/loss" in row]
    assert wandb_steps == logged


@pytest.mark.parametrize("stop, validate_every", [(6, 100), (8, 100), (8, 1)],
                         ids=["mid-epoch", "after-last-batch", "after-last-batch-then-validation"])
def test_resumed_at_any_point_of_an_epoch_continues_the_same_run(tmp_path, stop, validate_every):
    """Stopped mid-epoch, or right after an epoch's last batch (with or without the validation that follows
    it), then resumed: the same epoch count and the same final weights as a run never stopped. Training draws
    torch noise in every step and in validation, so a random state restored at the wrong place shows."""
    args = ("data.n=64", "trainer.deterministic=true", "model.input_noise=0.5", "trainer.val_check_interval=null",
            f"trainer.check_val_every_n_epoch={validate_every}")  # 4 batches an epoch
    assert train(tmp_path / "straight", *args, "trainer.max_steps=20") == 0
    assert train(tmp_path / "split", *args, f"trainer.max_steps={stop}") == 0
    assert train(tmp_path / "split", *args, "trainer.max_steps=20", "ckpt_path=last") == 0
    straight, split = (load(run_path(tmp_path / name) / "checkpoints" / "last.ckpt") for name in ("straight", "split"))
    assert straight["epoch"] == split["epoch"] == 4  # 20 steps of 4 batches: epochs 0-4, none empty
    for key, value in straight["state_dict"].items():
        assert torch.equal(split["state_dict"][key], value), key


def test_offline_training_sends_nothing_over_the_network(tmp_path):
    """W&B offline, as a user runs it (no WANDB_MODE in the environment; offline is the config's default): no
    process of the run (W&B's service, libraries' threads) connects outside the machine, sends anything to a DNS
    port (a local stub resolver such as 127.0.0.53 included), asks a resolver daemon, or even starts the libc
    resolver (reading /etc/resolv.conf is the first step of every name lookup)."""
    trace = tmp_path / "network.trace"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("WANDB_MODE", None)
    env.pop("ORT_DISABLE_TELEMETRY", None)  # common sets it itself
    cmd = ["strace", "-f", "-e", "trace=connect,sendto,sendmsg,sendmmsg,openat", "-o", str(trace), sys.executable,
           "-m", PKG, "train", f"run.root={tmp_path}", "trainer.max_steps=5", "logger.wandb=true"]
    result = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert list(tmp_path.rglob("offline-run-*")), "the run should have logged to an offline W&B run"
    lines = trace.read_text().splitlines()
    remote = [line for line in lines if "AF_INET" in line and '"127.' not in line and '"::1"' not in line]
    dns = [line for line in lines if "htons(53)" in line or "systemd/resolve" in line or "/etc/resolv.conf" in line]
    assert not remote and not dns, (remote + dns)[:3]
