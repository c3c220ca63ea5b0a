"""Shared fixtures of the common tests: the tiny synthetic corpora (built once per session in a temp dir) and
torch thread settings."""

import pytest
import torch

import common.corpora as corpora


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory):
    return tmp_path_factory.mktemp("corpora")


@pytest.fixture(scope="session")
def built(tiny_root):
    """name -> real-layout root of the tiny corpus, built on first use."""
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = corpora.ensure_corpus(name, tiny_root, size="tiny", seed=0)
        return cache[name]

    return get


def set_threads(threads: int):
    """Generator for fixtures: torch uses ``threads`` intra-op threads until it is resumed."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def torch_threads(request):
    """Both CPU code paths: block by block (single-threaded) and one torch.stft (multi-threaded)."""
    yield from set_threads(request.param)


@pytest.fixture
def one_thread():
    yield from set_threads(1)
