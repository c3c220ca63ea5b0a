"""Shared pytest setup: `gpu` tests run only where CUDA is present; W&B never touches the network; a build lock
held by another process (``lock_held_elsewhere``)."""

import os
import threading
import time

import pytest
import torch

from common.corpora.manifest import build_lock

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device (marked `gpu`)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


@pytest.fixture
def lock_held_elsewhere():
    """``hold(folder, name)`` takes ``build_lock(folder, name)`` in another thread for one second, as eval-all's
    prepare-ahead would, and returns once it is held; call its result for the monotonic time it let go."""
    threads = []

    def hold(folder, name, seconds=1.0):
        held, released = threading.Event(), []

        def run():
            with build_lock(folder, name):
                held.set()
                time.sleep(seconds)
                released.append(time.monotonic())

        thread = threading.Thread(target=run)
        thread.start()
        threads.append(thread)
        held.wait()

        def release_time():
            thread.join()
            return released[0]

        return release_time

    yield hold
    for thread in threads:
        thread.join()
