"""WaveNet building blocks and fast autoregressive generation.

- ``layers``: ``CausalConv1d``, ``GatedResidualLayer``, ``WaveNetDecoder`` (causal, conditioned, 256-way
  logits) and ``WaveNetEncoder`` (non-causal dilated stack + average pooling).
- ``generate``: ``IncrementalGenerator`` (per-layer ring buffers, batched streams, state carried across
  chunks; backend ``"auto" | "torch" | "triton" | "numba"``), ``DecoderState``, sampling helpers and the
  ``naive_generate`` reference.
- ``triton_step``: the fused Triton step kernel used by the ``"triton"`` backend (imported lazily).
- ``cpu_step``: the fused numba CPU step used by the ``"numba"`` backend (the CPU default; imported lazily).
"""

from common.wavenet.generate import (
    DecoderState,
    IncrementalGenerator,
    naive_generate,
    sample_codes,
    uniform_noise,
)
from common.wavenet.layers import CausalConv1d, GatedResidualLayer, WaveNetDecoder, WaveNetEncoder

__all__ = [
    "CausalConv1d",
    "DecoderState",
    "GatedResidualLayer",
    "IncrementalGenerator",
    "WaveNetDecoder",
    "WaveNetEncoder",
    "naive_generate",
    "sample_codes",
    "uniform_noise",
]
