"""Using a trained checkpoint: load it, translate a file and blend two in latent space (encoding and
generation are :mod:`music_translation.generation`'s).

``pieces > 1`` splits a long file into pieces generated as one batch of streams; each piece starts ``warmup``
latent frames early (the warm-up output is dropped) so it enters its first sample with a running decoder state.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from common.errors import InputError
from common.lightning.checkpoint import load_checkpoint
from common.mulaw import mu_law_decode
from music_translation.generation import encode, generate
from music_translation.module import TranslationModule

__all__ = ["blend_latents", "domain_index", "encode", "generate", "load_module", "split_pieces", "translate"]
HINT = "train one with `python -m music_translation train` (or `make eval-translation`), or pass ckpt=path/to/last.ckpt"


def load_module(path: str | Path, device: str = "cpu") -> TranslationModule:
    """A trained ``TranslationModule`` in eval mode; a folder, a missing, unreadable or foreign checkpoint is a
    one-line error naming the path (``common.lightning.checkpoint.load_checkpoint``)."""
    saved = load_checkpoint(path, "music_translation", [TranslationModule.checkpoint_kind], HINT)
    module = TranslationModule(**saved["hyper_parameters"])
    module.load_state_dict(saved["state_dict"])
    return module.to(device).eval()


def domain_index(module: TranslationModule, name: str) -> int:
    domains = module.net.domains
    if name not in domains:
        raise InputError(f"unknown domain {name!r}; this checkpoint has decoders for {', '.join(domains)}")
    return domains.index(name)


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


def blend_latents(a: torch.Tensor, b: torch.Tensor, fade_frames: int, names: tuple[str, str] = ("a", "b"),
                  frame_seconds: float | None = None) -> torch.Tensor:
    """The paper's latent cross-fade: ``a`` up to its last ``fade_frames`` frames, then those frames mixed
    linearly (weights 1 - t/fade, t/fade) with ``b``'s first ``fade_frames``, then the rest of ``b``.

    a (B, C, Fa), b (B, C, Fb) with Fa, Fb >= fade_frames -> (B, C, Fa + Fb - fade_frames). An input shorter
    than the fade is a one-line error naming it (``names``; lengths in seconds with ``frame_seconds``)."""
    n = fade_frames
    for name, z in zip(names, (a, b)):
        if z.shape[-1] < n:
            size = (f"{z.shape[-1] * frame_seconds:.2f} s, the fade {n * frame_seconds:.2f} s" if frame_seconds
                    else f"{z.shape[-1]} latent frames, the fade {n}")
            raise InputError(f"{name}: too short for the blend ({size}); give a longer file or lower "
                             "translate.blend_seconds")
    w = torch.linspace(0, 1, n, device=a.device)
    return torch.cat([a[..., :a.shape[-1] - n], (1 - w) * a[..., a.shape[-1] - n:] + w * b[..., :n], b[..., n:]],
                     dim=-1)
