"""``python -m speech2sing prepare|train|eval|convert|config [--config PRESET] [key=value ...]``."""

from __future__ import annotations

import argparse
import sys

from common.lightning import Verb, main
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
    Verb("train", "train the Table 1 system `system` (b1, b2, allnorm, p_mse, p_mtl, phsync, singing_ae)",
         "speech2sing.verbs:train"),
    Verb("eval", "train the systems of eval.systems and write Table 1, figures and examples to eval.out",
         "speech2sing.verbs:evaluate"),
    Verb("convert", "sing speech on a melody with a trained checkpoint (ckpt=..., default this run's system)",
         "speech2sing.verbs:convert", _convert_args),
]

if __name__ == "__main__":
    sys.exit(main("speech2sing", Speech2SingConfig, VERBS, description=__doc__.splitlines()[0]))
