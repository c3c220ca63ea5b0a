"""The verbs of ``python -m speech2sing`` (imported only when one runs, so ``--help`` and ``config`` stay fast)."""


from __future__ import annotations

import argparse
from pathlib import Path

from omegaconf import DictConfig
from pytorch_lightning.utilities import rank_zero_only

from common.audio import WRITE_FORMATS, load_audio, save_audio
from common.errors import InputError
from speech2sing import catalog, data, inference, training
from speech2sing.module import load_module


def prepare(cfg: DictConfig, args: argparse.Namespace) -> None:
    splits = data.samples(cfg)
    print(f"corpus: {catalog.corpus_root(cfg)}; samples: {len(splits['train'])} train, {len(splits['test'])} test "
          f"(held-out song {cfg.data.test_song})")


def train(cfg: DictConfig, args: argparse.Namespace) -> None:
    path = training.train(cfg)
    if rank_zero_only.rank == 0:
        print(f"checkpoint: {path}")


def evaluate(cfg: DictConfig, args: argparse.Namespace) -> None:
    from speech2sing.evaluate import evaluate as run

    print(f"report: {run(cfg)}")


def convert(cfg: DictConfig, args: argparse.Namespace) -> None:
    """Convert one speech file, or every audio file of a folder, onto the melody of ``--melody``."""
    module = load_module(cfg.ckpt or training.last_checkpoint(cfg))
    f, c = module.hparams.features, cfg.convert
    f0 = inference.melody_contour(args.melody, f["sample_rate"], f["hop_length"], c.fmin, c.fmax)
    source = Path(args.speech)
    if source.is_dir():
        inputs = sorted(p for p in source.iterdir() if p.suffix.lower() in WRITE_FORMATS)
        if not inputs:
            raise InputError(f"{source}: the folder holds no audio files ({', '.join(WRITE_FORMATS)})")
        out_dir = Path(args.out or source.parent / f"{source.name}-sung")
        outputs = [out_dir / f"{p.stem}.wav" for p in inputs]
    else:
        inputs, outputs = [source], [Path(args.out or source.with_name(f"{source.stem}-sung.wav"))]
    for speech_path, out in zip(inputs, outputs):
        speech = load_audio(speech_path, f["sample_rate"])
        audio = inference.convert(module, speech, f0, args.transpose, c.exponent, c.griffinlim_iters,
                                  str(speech_path))
        print(f"wrote {save_audio(out, audio, f['sample_rate'])}")
