"""Shared, paper-agnostic building blocks: audio I/O, spectral ops, mu-law, DTW, Griffin-Lim, metrics,
WaveNet inference, synthetic corpora and the Lightning/omegaconf/W&B plumbing.

Nothing in ``common`` imports a paper package.
"""

import os

# No network traffic unless asked for: onnxruntime (imported by torch.onnx, hence by Lightning) otherwise sends
# telemetry, starting with a DNS lookup, from every process that imports it. W&B runs offline by default.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

# Parallel workers compile librosa's cached numba kernels into one shared cache: one compilation at a time
# (common.numba_cache), or a fresh venv's cache can be left corrupt and every later process segfault.
from common.numba_cache import serialise_compilation  # noqa: E402

serialise_compilation()
