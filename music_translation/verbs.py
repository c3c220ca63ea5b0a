"""The verbs of ``python -m music_translation``, imported only when one runs (``--help`` and ``config`` stay
fast)."""


from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig
from pytorch_lightning.utilities import rank_zero_only

from common.audio import save_audio
from common.errors import InputError
from music_translation import data, inference, training


def prepare(cfg: DictConfig, args: argparse.Namespace) -> None:
    root = data.ensure_synthetic(cfg)
    for domain in [*cfg.data.domains, *cfg.data.unseen_domains]:
        print(f"{domain}: {data.prepare_domain(cfg, domain, root)}")


def train(cfg: DictConfig, args: argparse.Namespace) -> None:
    path = training.train(cfg)
    if rank_zero_only.rank == 0:  # under DDP every rank runs this verb
        print(f"checkpoint: {path}")


def evaluate(cfg: DictConfig, args: argparse.Namespace) -> None:
    from music_translation.evaluate import evaluate as run

    print(f"report: {run(cfg)}")


def _module(cfg: DictConfig):
    device = "cuda" if torch.cuda.is_available() and cfg.trainer.accelerator != "cpu" else "cpu"
    return inference.load_module(training.checkpoint_path(cfg), device)


def _generation_args(cfg: DictConfig, module) -> dict:
    t, rate, pool = cfg.translate, module.hparams.sample_rate, module.net.model_args["pool"]
    return dict(chunk_frames=max(1, round(t.chunk_seconds * rate / pool)), seed=t.seed,
                temperature=t.temperature, backend=t.backend)


def translate(cfg: DictConfig, args: argparse.Namespace) -> None:
    """Translate a file to domain ``--to``; writes audio of the input's length at the model's rate."""
    module = _module(cfg)
    domain = inference.domain_index(module, args.to)
    rate, pool = module.hparams.sample_rate, module.net.model_args["pool"]
    codes = data.load_file_codes(args.input, rate)
    warmup = max(1, round(cfg.translate.warmup_seconds * rate / pool))
    audio = inference.translate(module, codes, domain, pieces=cfg.translate.pieces, warmup=warmup,
                                progress=True, **_generation_args(cfg, module))
    print(f"wrote {save_audio(args.out, audio, rate)}")


def encode(cfg: DictConfig, args: argparse.Namespace) -> None:
    """Write each input's latents as ``<out-dir>/<stem>.npy``: (frames, latent_channels) float32."""
    module = _module(cfg)
    out = Path(args.out_dir)
    for path in args.inputs:
        codes = data.load_file_codes(path, module.hparams.sample_rate)
        latent = inference.encode(module, codes[None])[0].T.cpu().numpy().astype(np.float32)
        out.mkdir(parents=True, exist_ok=True)
        np.save(out / f"{Path(path).stem}.npy", latent)
        print(f"wrote {out / (Path(path).stem + '.npy')} {latent.shape}")


def blend(cfg: DictConfig, args: argparse.Namespace) -> None:
    """Cross-fade the latents of two files over ``translate.blend_seconds`` and decode with ``--to``."""
    module = _module(cfg)
    rate, pool = module.hparams.sample_rate, module.net.model_args["pool"]
    domain = inference.domain_index(module, args.to or module.net.domains[0])
    a, b = (inference.encode(module, data.load_file_codes(p, rate)[None]) for p in (args.a, args.b))
    latent = inference.blend_latents(a, b, max(1, round(cfg.translate.blend_seconds * rate / pool)))
    codes = inference.generate(module, latent, domain, progress=True, **_generation_args(cfg, module))[0]
    from common.mulaw import mu_law_decode

    print(f"wrote {save_audio(args.out, mu_law_decode(codes.cpu()).numpy(), rate)}")


def domains(cfg: DictConfig, args: argparse.Namespace) -> None:
    module = _module(cfg)
    n = module.net.confusion.net[-1].out_channels
    for i, name in enumerate(module.net.domains):
        print(f"{i}\t{name}\t{'trained with the encoder' if i < n else 'added on the frozen encoder'}")


def add_domain(cfg: DictConfig, args: argparse.Namespace) -> None:
    folder = Path(args.folder)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder; pass a folder of audio files")
    path = training.add_domain(cfg, folder, args.name)
    if rank_zero_only.rank == 0:
        print(f"checkpoint: {path}")
