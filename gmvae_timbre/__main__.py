"""``python -m gmvae_timbre <verb> [--config PRESET] [key=value ...]``: models, prepare, train, eval, synth, transfer,
interpolate, plan, config."""

from __future__ import annotations

import argparse
import logging
import sys

from common.lightning import Verb, main
from common.lightning.verbs import eval_verb, models_verb, plan_verb, train_verb
from gmvae_timbre.config import GmvaeConfig

log = logging.getLogger("gmvae_timbre")


def _synth_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--instrument", required=True, help="instrument class name, e.g. Hn, Pno, Vc, Bn")
    parser.add_argument("--pitch", required=True, type=int,
                        help="MIDI pitch inside the instrument's trained range (any semitone)")
    parser.add_argument("--out", required=True, help="output .wav")
    parser.add_argument("--weight", type=float, default=0.0,
                        help="w in [0, 4]: variance multiplier of the sampling (0: the means; the paper uses 0-1)")
    parser.add_argument("--seed", type=int, default=0)


def _transfer_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("note", help="a single note (wav/flac/ogg/mp3) of at least 0.49 s")
    parser.add_argument("--to", required=True, help="target instrument class name")
    parser.add_argument("--alpha", type=float, default=1.0, help="fraction in [0, 1] of mu_target - mu_source to add")
    parser.add_argument("--from", "--source", dest="source",
                        help="source instrument name (default: inferred, the argmax of q(y_t|X); always printed)")
    parser.add_argument("--out", required=True, help="output .wav")


def _interpolate_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", help="first note")
    parser.add_argument("b", help="second note")
    parser.add_argument("--steps", type=int, default=5, help="notes written, a's timbre to b's, with a's pitch")
    parser.add_argument("--out-dir", help="where to write them (default: next to the first note)")


VERBS = [
    models_verb("gmvae_timbre.verbs:default_models"),
    Verb("prepare", "build the corpus (synthetic default) and cache the log-mel features",
         "gmvae_timbre.verbs:prepare"),
    train_verb("train model.kind (gmvae | vae) with data.label_fraction percent of the instrument labels",
               "gmvae_timbre.training:train_model"),
    eval_verb("train what is missing and write Table 1, Figures 2-3 and the timbre transfer to eval.out",
              "gmvae_timbre.evaluate:evaluate"),
    Verb("synth", "synthesize a note of an instrument and pitch from the mixture components",
         "gmvae_timbre.verbs:synth", _synth_args),
    Verb("transfer", "move a note's timbre toward another instrument by mixture-mean arithmetic",
         "gmvae_timbre.verbs:transfer",
         _transfer_args),
    Verb("interpolate", "walk the timbre space from one note to another",
         "gmvae_timbre.verbs:interpolate", _interpolate_args),
    plan_verb("gmvae_timbre.plan:plan"),
]

if __name__ == "__main__":
    sys.exit(main("gmvae_timbre", GmvaeConfig, VERBS, description=__doc__.splitlines()[0]))
