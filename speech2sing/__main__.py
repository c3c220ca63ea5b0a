"""``python -m speech2sing prepare|train|eval|convert|config [--config PRESET] [key=value ...]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from omegaconf import DictConfig
from pytorch_lightning.utilities import rank_zero_only

from common.audio import WRITE_FORMATS, load_audio, save_audio
from common.errors import InputError
from common.lightning import Verb, main
from speech2sing import data, inference, training
from speech2sing.config import Speech2SingConfig
from speech2sing.module import load_module


def prepare(cfg: DictConfig, args: argparse.Namespace) -> None:
    splits = data.samples(cfg)
    print(f"corpus: {data.corpus_root(cfg)}; samples: {len(splits['train'])} train, {len(splits['test'])} test "
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


def _convert_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("speech", help="speech recording (wav/flac/ogg/mp3), or a folder of them")
    parser.add_argument("--melody", required=True,
                        help="target melody: MIDI file (.mid), CSV of time_s,hz (.csv) or a sung/hummed recording")
    parser.add_argument("--out", help="output wav (one input) or folder (a folder input); default next to the input")
    parser.add_argument("--transpose", type=float, default=0.0, help="shift the melody by this many semitones")


VERBS = [
    Verb("prepare", "build the corpus (synthetic default) and list the paired samples of the split", prepare),
    Verb("train", "train the Table 1 system `system` (b1, b2, allnorm, p_mse, p_mtl, phsync, singing_ae)", train),
    Verb("eval", "train the systems of eval.systems and write Table 1, figures and examples to eval.out",
         evaluate),
    Verb("convert", "sing speech on a melody with a trained checkpoint (ckpt=..., default this run's system)",
         convert, _convert_args),
]

if __name__ == "__main__":
    sys.exit(main("speech2sing", Speech2SingConfig, VERBS, description=__doc__.splitlines()[0]))
