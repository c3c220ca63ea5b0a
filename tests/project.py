"""What every paper package's tests share: a tiny project (``python -m <package>`` through the real CLI, every
path under a temp dir, small settings), and torch on one thread (on a shared 2-core machine several times
faster than two threads competing with other processes; the previous setting is restored).

``MUSICREP_TEST_THREADS=2 make test`` runs the tests and trains their models on two threads instead: another
float summation order, as on another CPU. A test that thresholds a trained model must pass both ways."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest
import torch

from common.lightning import load_config, main

THREADS = int(os.environ.get("MUSICREP_TEST_THREADS", "1"))


@pytest.fixture(autouse=True)
def one_torch_thread():
    """torch on ``THREADS`` threads in every test (one unless MUSICREP_TEST_THREADS says otherwise)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    yield
    torch.set_num_threads(previous)


def tiny_project(package: str, config_class: type, corpus_size: int | str, small: list[str], cache: bool = True):
    """The session fixture ``tiny``: a :meth:`TinyProject.synthetic` of ``package`` (assign it as ``tiny`` in a
    conftest)."""

    @pytest.fixture(scope="session")
    def tiny(tmp_path_factory) -> TinyProject:
        return TinyProject.synthetic(tmp_path_factory, package, config_class, corpus_size, small, cache)

    return tiny


class TinyProject:
    """``python -m <package>`` with ``overrides`` (paths under ``root`` and small settings); the arguments a
    test passes come last, so they win."""

    def __init__(self, package: str, config_class: type, root: Path, overrides: list[str]):
        self.package, self.config_class, self.root = package, config_class, root
        self.overrides = [f"run.root={root}/runs", f"eval.out={root}/reports", *overrides]
        self.verbs = importlib.import_module(f"{package}.__main__").VERBS

    @classmethod
    def synthetic(cls, tmp_path_factory, package: str, config_class: type, corpus_size: int | str,
                  small: list[str], cache: bool = True) -> TinyProject:
        """A tiny project whose synthetic corpora (and feature caches) are built under a fresh temp dir."""
        root = tmp_path_factory.mktemp(package)
        paths = [f"data.root={root}/synthetic", f"data.corpus_size={corpus_size}"]
        paths += [f"data.cache={root}/cache"] if cache else []
        return cls(package, config_class, root, [*paths, *small])

    def train(self, run: str, *args: str) -> Path:
        """``train`` through the CLI; returns ``runs/<package>/<run>/checkpoints/last.ckpt``, which must exist."""
        assert self.run("train", *args) == 0
        path = self.root / "runs" / self.package / run / "checkpoints" / "last.ckpt"
        assert path.is_file(), f"{path} was not written"
        return path

    def args(self, *extra: str) -> list[str]:
        return [*self.overrides, *map(str, extra)]

    def run(self, verb: str, *args: str) -> int:
        return main(self.package, self.config_class, self.verbs, [verb, *self.args(*args)])

    def config(self, *overrides: str):
        return load_config(self.config_class, self.package, "default", self.args(*overrides))
