import sys

from common.lightning import Verb, fit, main, run_dir
from tests.toy_task.evaluate import evaluate
from tests.toy_task.module import ToyConfig, ToyDataModule, ToyRegression


def train(cfg, args):
    directory = run_dir(cfg, "tests.toy_task")  # fit() checks that it can be written, then creates it
    fit(cfg, "tests.toy_task", ToyRegression(cfg.model, cfg.data.features, directory), ToyDataModule(cfg.data))


VERBS = [Verb("train", "fit the toy regression", train), Verb("eval", "write the toy's report", evaluate)]

if __name__ == "__main__":
    sys.exit(main("tests.toy_task", ToyConfig, VERBS))
