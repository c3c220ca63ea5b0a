"""``python -m speech2sing prepare|train|eval|convert|plan|models|config [--config PRESET] [key=value ...]``."""

from __future__ import annotations

import argparse
import sys

from common.lightning import Verb, main
from common.lightning.verbs import eval_verb, models_verb, plan_verb, train_verb
from speech2sing.config import Speech2SingConfig


def _convert_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("speech", help="speech recording (wav/flac/ogg/mp3), or a folder of them")
    parser.add_argument("--melody", required=True,
                        help="target melody: MIDI file (.mid), CSV of time_s,hz (.csv) or a sung/hummed recording")
    parser.add_argument("--out", help="output wav (one input) or folder (a folder input); default next to the input")
    parser.add_argument("--transpose", type=float, default=0.0, help="shift the melody by this many semitones")


VERBS = [
    Verb("prepare", "build the corpus (synthetic default) and list the paired samples of the split",
         "speech2sing.verbs:prepare"),
    train_verb("train the Table 1 system `system` (b1, b2, allnorm, p_mse, p_mtl, phsync, singing_ae)",
               "speech2sing.training:train"),
    eval_verb("train the systems of eval.systems and write Table 1, figures and examples to eval.out",
              "speech2sing.evaluate:evaluate"),
    Verb("convert", "sing speech on a melody with a trained checkpoint (ckpt=..., default this run's system)",
         "speech2sing.verbs:convert", _convert_args),
    plan_verb("speech2sing.verbs:plan", "what training `system` with this preset costs at scale: parameters, FLOPs, "
              "memory, loader, GPU hours, DDP bytes (--gpus N --nodes M --gpu a100|h100)"),
    models_verb("speech2sing.verbs:default_models"),
]

if __name__ == "__main__":
    sys.exit(main("speech2sing", Speech2SingConfig, VERBS, description=__doc__.splitlines()[0]))
