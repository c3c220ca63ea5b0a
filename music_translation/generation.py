"""Encoding audio and generating with a decoder of a trained translation network.

Generation runs ``common.wavenet.IncrementalGenerator`` (the fused numba step on the CPU, the Triton kernel on
CUDA) chunk by chunk, carrying the decoder state across chunks, so a file generated in chunks equals the file
generated in one piece. ``module`` is anything holding the network as ``.net`` (a ``TranslationModule``).
"""

from __future__ import annotations

import torch
from tqdm import tqdm

from common.wavenet import IncrementalGenerator

SILENCE_CODE = 128  # mu-law code of 0.0 with 256 classes


def _device(module) -> torch.device:
    return next(module.net.parameters()).device


@torch.no_grad()
def encode(module, codes: torch.Tensor) -> torch.Tensor:
    """codes (B, T) -> latent (B, latent, ceil(T / pool)); the input is padded with silence to whole frames."""
    pool = module.net.model_args["pool"]
    pad = -codes.shape[-1] % pool
    codes = torch.nn.functional.pad(codes, (0, pad), value=SILENCE_CODE)
    return module.net.encode(codes.to(_device(module)))


@torch.no_grad()
def generate(module, latent: torch.Tensor, domain: int, chunk_frames: int = 20,
             seed: int = 0, temperature: float = 1.0, backend: str = "auto", progress: bool = False,
             ) -> torch.Tensor:
    """Decoder ``domain`` on ``latent`` (B, latent, F) -> codes (B, F * pool), in chunks of ``chunk_frames``."""
    generator = IncrementalGenerator(module.net.decoders[domain], backend=backend)
    state = generator.start(latent.shape[0], seed)
    frames = latent.shape[-1]
    out = []
    bar = tqdm(total=frames, desc="generate", unit="frame", disable=not progress, leave=False)
    for first in range(0, frames, max(1, chunk_frames)):
        chunk = latent[..., first:first + chunk_frames]
        out.append(generator.generate(state, chunk, temperature=temperature))
        bar.update(chunk.shape[-1])
    bar.close()
    return torch.cat(out, dim=1)
