"""Shared pytest setup: `gpu` tests run only where CUDA is present; W&B never touches the network."""

import os

import pytest
import torch

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device (marked `gpu`)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)
