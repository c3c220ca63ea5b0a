"""``python -m da_vae prepare|train|eval|align|separate|models|plan|config [--config PRESET] [key=value ...]``."""

from __future__ import annotations

import argparse
import sys

from common.lightning import Verb, main
from common.lightning.verbs import eval_verb, models_verb, plan_verb, train_verb
from da_vae.config import TASKS, DaVaeConfig


def _prepare_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated subset of {','.join(TASKS)}")


def _align_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--audio", required=True, help="the recording (wav/flac/ogg/mp3)")
    parser.add_argument("--midi", required=True, help="the MIDI file to align to it")
    parser.add_argument("--out-dir", default=".", help="where to write the outputs (default: the current directory)")


def _separate_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("mixture", help="the mixture (wav/flac/ogg/mp3; stereo is mixed down to mono)")
    parser.add_argument("--out-dir", default=".", help="where to write the outputs (default: the current directory)")


CKPT = ("the trained stage-2 model, a last.ckpt under runs/da_vae/; default: this run's {task} model "
        "(runs/da_vae/<run.name>/{task}-L<model.latent_dim>-<variant>/checkpoints/last.ckpt)")
VERBS = [
    Verb("prepare", "build the corpora (synthetic default) and cache the features of each task",
         "da_vae.verbs:prepare", _prepare_args),
    train_verb("train stage task.stage (source VAE, target model, or both) of task task.name",
               "da_vae.training:train"),
    eval_verb("train what is missing and write the paper's Tables 2-3 and Figure 4 to eval.out",
              "da_vae.evaluate:evaluate"),
    Verb("align", "align a MIDI file to a recording with a trained task-midi model (ckpt=...)",
         "da_vae.verbs:align", _align_args, keys=(("ckpt=PATH", CKPT.format(task="midi")),)),
    Verb("separate", "separate voice and accompaniment with a trained separation DAE (ckpt=...)",
         "da_vae.verbs:separate", _separate_args,
         keys=(("ckpt=PATH", CKPT.format(task="separation")),
               ("eval.separation_hop_frames=N", "hop in frames between the overlapping segments that are averaged"))),
    models_verb("da_vae.verbs:default_models",
                "list the trained models align and separate use by default, and whether they are there"),
    plan_verb("da_vae.verbs:plan",
              "what training task task.name of this preset costs on N GPUs (both stages, measured here)"),
]

if __name__ == "__main__":
    sys.exit(main("da_vae", DaVaeConfig, VERBS, description=__doc__.splitlines()[0]))
