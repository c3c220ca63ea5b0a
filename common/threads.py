"""Intra-op thread count of torch's CPU ops for the duration of a block."""

from __future__ import annotations

from contextlib import contextmanager

import torch


@contextmanager
def intra_op_threads(n: int | None):
    """Temporarily run torch CPU ops on ``n`` threads (None: leave the setting alone)."""
    previous = torch.get_num_threads()
    if n is None or n == previous:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
