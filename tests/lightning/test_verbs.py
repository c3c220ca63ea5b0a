"""The shared train / eval / models / plan verbs."""

import argparse
import subprocess
import sys

import pytest

from common import plan
from common.lightning import verbs


def test_gpu_classes_are_the_plans_gpus():
    assert verbs.GPU_CLASSES == tuple(sorted(plan.GPUS))


def test_plan_arguments_match_run_plan():
    parser = argparse.ArgumentParser()
    verbs.plan_arguments(parser)
    args = parser.parse_args(["--gpus", "8", "--gpu", "h100"])
    assert (args.gpus, args.nodes, args.gpu, args.json) == (8, None, "h100", None)
    with pytest.raises(SystemExit):
        parser.parse_args(["--gpu", "v100"])


def one_path(cfg):
    return f"{cfg}/last.ckpt"


def two_paths(cfg):
    return [f"{cfg}/a.ckpt", f"{cfg}/b.ckpt"]


def report(cfg):
    return f"{cfg}/README.md"


@pytest.mark.parametrize("train, printed",
                         [("one_path", ["run/last.ckpt"]), ("two_paths", ["run/a.ckpt", "run/b.ckpt"])])
def test_train_prints_every_checkpoint_once(capsys, train, printed):
    verbs.train_verb("train it", f"{__name__}:{train}").run("run", argparse.Namespace())
    assert capsys.readouterr().out.splitlines() == [f"checkpoint: {p}" for p in printed]


def test_eval_prints_the_report(capsys):
    verbs.eval_verb("eval it", f"{__name__}:report").run("run", argparse.Namespace())
    assert capsys.readouterr().out == "report: run/README.md\n"


def test_importing_the_verbs_imports_neither_torch_nor_lightning():
    code = "import sys, common.lightning.verbs; print('torch' in sys.modules, 'pytorch_lightning' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
