"""Using a trained checkpoint: load it, encode audio, and generate with any decoder.

Generation runs ``common.wavenet.IncrementalGenerator`` (the torch engine on CPU, the fused Triton kernel on
CUDA) chunk by chunk, carrying the decoder state across chunks, so a file generated in chunks equals the file
generated in one piece. ``pieces > 1`` splits a long file into pieces generated as one batch of streams;
each piece starts ``warmup`` latent frames early (the warm-up output is dropped) so it enters its first
sample with a running decoder state.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from common.errors import InputError
from common.mulaw import mu_law_decode
from common.wavenet import IncrementalGenerator
from music_translation.module import TranslationModule

SILENCE_CODE = 128  # mu-law code of 0.0 with 256 classes


def load_module(path: str | Path, device: str = "cpu") -> TranslationModule:
    """A trained ``TranslationModule`` in eval mode; a missing or foreign checkpoint is a one-line error."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"checkpoint {path} does not exist; train first or pass ckpt=path/to/last.ckpt")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # noqa: BLE001 - any unreadable file gets the same one-line answer
        raise InputError(f"{path} is not a readable checkpoint ({type(err).__name__}); pass a "
                         "music_translation last.ckpt") from None
    hparams = saved.get("hyper_parameters", {}) if isinstance(saved, dict) else {}
    if not {"model", "domains", "sample_rate"} <= set(hparams) or "net.encoder.inp.weight" not in saved.get(
            "state_dict", {}):
        raise InputError(f"{path} is not a music_translation checkpoint (no encoder/decoders in it); pass the "
                         "last.ckpt of a `python -m music_translation train` run")
    module = TranslationModule(**hparams)
    module.load_state_dict(saved["state_dict"])
    return module.to(device).eval()


def domain_index(module: TranslationModule, name: str) -> int:
    domains = module.net.domains
    if name not in domains:
        raise InputError(f"unknown domain {name!r}; this checkpoint has decoders for {', '.join(domains)}")
    return domains.index(name)


@torch.no_grad()
def encode(module: TranslationModule, codes: torch.Tensor) -> torch.Tensor:
    """codes (B, T) -> latent (B, latent, ceil(T / pool)); the input is padded with silence to whole frames."""
    pool = module.net.model_args["pool"]
    pad = -codes.shape[-1] % pool
    codes = torch.nn.functional.pad(codes, (0, pad), value=SILENCE_CODE)
    return module.net.encode(codes.to(module.device))


@torch.no_grad()
def generate(module: TranslationModule, latent: torch.Tensor, domain: int, chunk_frames: int = 20,
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


def split_pieces(latent: torch.Tensor, pieces: int, warmup: int) -> tuple[torch.Tensor, int]:
    """latent (1, C, F) -> (P, C, warmup + L) streams: piece p covers frames [p L, (p + 1) L), preceded by
    ``warmup`` frames of the previous piece (repeats of frame 0 for the first); the tail repeats frame F-1."""
    frames = latent.shape[-1]
    length = -(-frames // pieces)
    padded = torch.cat([latent[..., :1].expand(-1, -1, warmup), latent,
                        latent[..., -1:].expand(-1, -1, pieces * length - frames)], dim=-1)
    return torch.cat([padded[..., p * length:p * length + warmup + length] for p in range(pieces)]), length


@torch.no_grad()
def translate(module: TranslationModule, codes: torch.Tensor, domain: int, chunk_frames: int = 20,
              pieces: int = 1, warmup: int = 5, seed: int = 0, temperature: float = 1.0,
              backend: str = "auto", progress: bool = False) -> np.ndarray:
    """codes (T,) of any domain -> float audio (T,) in domain ``domain`` (no augmentation at inference)."""
    pool, n = module.net.model_args["pool"], codes.shape[-1]
    latent = encode(module, codes.reshape(1, -1))
    pieces = max(1, min(pieces, latent.shape[-1]))
    if pieces == 1:
        out = generate(module, latent, domain, chunk_frames, seed, temperature, backend, progress)[0]
    else:
        streams, _ = split_pieces(latent, pieces, warmup)
        out = generate(module, streams, domain, chunk_frames, seed, temperature, backend, progress)
        out = out[:, warmup * pool:].reshape(-1)
    return mu_law_decode(out[:n].cpu()).numpy()


def blend_latents(a: torch.Tensor, b: torch.Tensor, fade_frames: int) -> torch.Tensor:
    """The paper's latent cross-fade: ``a`` up to its last ``fade_frames`` frames, then those frames mixed
    linearly (weights 1 - t/fade, t/fade) with ``b``'s first ``fade_frames``, then the rest of ``b``.

    a (B, C, Fa), b (B, C, Fb) with Fa, Fb >= fade_frames -> (B, C, Fa + Fb - fade_frames)."""
    n = fade_frames
    if min(a.shape[-1], b.shape[-1]) < n:
        raise InputError(f"both inputs must be at least {n} latent frames long for the blend")
    w = torch.linspace(0, 1, n, device=a.device)
    return torch.cat([a[..., :a.shape[-1] - n], (1 - w) * a[..., a.shape[-1] - n:] + w * b[..., :n], b[..., n:]],
                     dim=-1)
