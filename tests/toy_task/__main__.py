import sys

from common.lightning import Verb, fit, main, run_dir
from tests.toy_task.evaluate import evaluate
from tests.toy_task.module import ToyConfig, ToyDataModule, ToyRegression


def train(cfg, args):
    directory = run_dir(cfg, "tests.toy_task")  # fit() checks that it can be written, then creates it
    fit(cfg, "tests.toy_task", ToyRegression(cfg.model, cfg.data.features, directory), ToyDataModule(cfg.data))


def prepare(cfg, args):
    """Record that it ran, under which preset and at which CPU priority (for tests/test_eval_all.py)."""
    import os
    from pathlib import Path

    Path("toy-prepared.txt").write_text(f"{cfg.run.name} nice={os.nice(0)}\n")


VERBS = [Verb("train", "fit the toy regression", train), Verb("eval", "write the toy's report", evaluate),
         Verb("prepare", "record that it ran", prepare)]

if __name__ == "__main__":
    sys.exit(main("tests.toy_task", ToyConfig, VERBS))
