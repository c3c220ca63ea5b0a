"""The verbs of ``python -m gmvae_timbre`` (imported only when one runs, so ``--help`` and ``config`` stay fast)."""


from __future__ import annotations

import argparse
import logging
from pathlib import Path

from omegaconf import DictConfig
from pytorch_lightning.utilities import rank_zero_only

from common.audio import save_audio
from common.errors import InputError
from gmvae_timbre import data, inference, training

log = logging.getLogger("gmvae_timbre")



def _model(cfg: DictConfig):
    """``ckpt=`` if given, else this run's model of ``model.kind``, ``data.label_fraction`` and ``run.seed``."""
    variant = training.model_variant(cfg.model.kind, cfg.data.label_fraction, cfg.run.seed)
    return training.load_model(cfg.ckpt or training.last_checkpoint(cfg, variant))


def prepare(cfg: DictConfig, args: argparse.Namespace) -> None:
    print(data.data_summary(cfg))


def train(cfg: DictConfig, args: argparse.Namespace) -> None:
    path = training.train_model(cfg)
    if rank_zero_only.rank == 0:
        print(f"checkpoint: {path}")


def evaluate(cfg: DictConfig, args: argparse.Namespace) -> None:
    from gmvae_timbre.evaluate import evaluate as run

    print(f"report: {run(cfg)}")


def _write(path: str, audio, module) -> None:
    print(f"wrote {save_audio(Path(path), audio, module.hparams.features['sample_rate'])}")


def synth(cfg: DictConfig, args: argparse.Namespace) -> None:
    module = _model(cfg)
    _write(args.out, inference.synthesize(module, args.instrument, args.pitch, args.weight, args.seed,
                                          cfg.eval.griffinlim_iters), module)


def transfer(cfg: DictConfig, args: argparse.Namespace) -> None:
    module = _model(cfg)
    source = args.source
    x = inference.read_input(module, args.note)
    _write(args.out, inference.transfer(module, x, args.to, args.alpha, source, cfg.eval.griffinlim_iters), module)


def interpolate(cfg: DictConfig, args: argparse.Namespace) -> None:
    if args.steps < 2:
        raise InputError(f"--steps {args.steps}: give at least 2 (the two notes themselves)")
    module = _model(cfg)
    a, b = inference.read_input(module, args.a), inference.read_input(module, args.b)
    out = Path(args.out_dir) if args.out_dir else Path(args.a).parent
    for step, audio in enumerate(inference.interpolate(module, a, b, args.steps, cfg.eval.griffinlim_iters)):
        _write(str(out / f"{Path(args.a).stem}_to_{Path(args.b).stem}_{step:02d}.wav"), audio, module)
