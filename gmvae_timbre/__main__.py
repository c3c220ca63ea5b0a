"""``python -m gmvae_timbre prepare|train|eval|synth|transfer|interpolate|config [--config PRESET] [key=value ...]``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from omegaconf import DictConfig
from pytorch_lightning.utilities import rank_zero_only

from common.audio import save_audio
from common.errors import InputError
from common.lightning import Verb, main
from gmvae_timbre import data, inference, training
from gmvae_timbre.config import GmvaeConfig

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


def _synth_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--instrument", required=True, help="instrument class name, e.g. Hn, Pno, Vc, Bn")
    parser.add_argument("--pitch", required=True, type=int, help="MIDI pitch, one of the model's pitch classes")
    parser.add_argument("--out", required=True, help="output .wav")
    parser.add_argument("--weight", type=float, default=0.0, help="w: variance multiplier of the sampling (0: means)")
    parser.add_argument("--seed", type=int, default=0)


def _transfer_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("note", help="a single note (wav/flac/ogg/mp3) of at least 0.49 s")
    parser.add_argument("--to", required=True, help="target instrument class name")
    parser.add_argument("--alpha", type=float, default=1.0, help="fraction of mu_target - mu_source to add")
    parser.add_argument("--source", help="source instrument name (default: the argmax of q(y_t|X))")
    parser.add_argument("--out", required=True, help="output .wav")


def _interpolate_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", help="first note")
    parser.add_argument("b", help="second note")
    parser.add_argument("--steps", type=int, default=5, help="notes written, a's timbre to b's, with a's pitch")
    parser.add_argument("--out-dir", help="where to write them (default: next to the first note)")


VERBS = [
    Verb("prepare", "build the corpus (synthetic default) and cache the log-mel features", prepare),
    Verb("train", "train model.kind (gmvae | vae) with data.label_fraction % of the instrument labels", train),
    Verb("eval", "train what is missing and write Table 1, Figures 2-3 and the timbre transfer to eval.out",
         evaluate),
    Verb("synth", "synthesize a note of an instrument and pitch from the mixture components", synth, _synth_args),
    Verb("transfer", "move a note's timbre toward another instrument by mixture-mean arithmetic", transfer,
         _transfer_args),
    Verb("interpolate", "walk the timbre space from one note to another", interpolate, _interpolate_args),
]

if __name__ == "__main__":
    sys.exit(main("gmvae_timbre", GmvaeConfig, VERBS, description=__doc__.splitlines()[0]))
