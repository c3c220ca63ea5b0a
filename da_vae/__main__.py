"""``python -m da_vae prepare|train|eval|align|separate|models|plan|config [--config PRESET] [key=value ...]``."""

from __future__ import annotations

import argparse
import sys

from common.lightning import Verb, main
from da_vae.config import TASKS, DaVaeConfig


def _prepare_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated subset of {','.join(TASKS)}")


def _align_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--audio", required=True, help="the recording (wav/flac/ogg/mp3)")
    parser.add_argument("--midi", required=True, help="the MIDI file to align to it")
    parser.add_argument("--out-dir", default=".", help="where to write the outputs (default: the current directory)")


def _plan_args(parser: argparse.ArgumentParser) -> None:
    """``common.plan.add_plan_arguments``, written out here: importing common.plan imports torch, which --help
    must not."""
    parser.add_argument("--gpus", type=int, help="GPUs per node (default: trainer.devices of the preset)")
    parser.add_argument("--nodes", type=int, help="nodes (default: trainer.num_nodes)")
    parser.add_argument("--gpu", choices=("a100", "h100"), default="a100", help="GPU class to project onto")
    parser.add_argument("--json", help="also write the plan to this JSON file")


def _separate_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("mixture", help="the mixture (wav/flac/ogg/mp3; stereo is mixed down to mono)")
    parser.add_argument("--out-dir", default=".", help="where to write the outputs (default: the current directory)")


CKPT = ("the trained stage-2 model, a last.ckpt under runs/da_vae/; default: this run's {task} model "
        "(runs/da_vae/<run.name>/{task}-L<model.latent_dim>-<variant>/checkpoints/last.ckpt)")
VERBS = [
    Verb("prepare", "build the corpora (synthetic default) and cache the features of each task",
         "da_vae.verbs:prepare", _prepare_args),
    Verb("train", "train stage task.stage (source VAE, target model, or both) of task task.name",
         "da_vae.verbs:train"),
    Verb("eval", "train what is missing and write the paper's Tables 2-3 and Figure 4 to eval.out",
         "da_vae.verbs:evaluate"),
    Verb("align", "align a MIDI file to a recording with a trained task-midi model (ckpt=...)",
         "da_vae.verbs:align", _align_args, keys=(("ckpt=PATH", CKPT.format(task="midi")),)),
    Verb("separate", "separate voice and accompaniment with a trained separation DAE (ckpt=...)",
         "da_vae.verbs:separate", _separate_args,
         keys=(("ckpt=PATH", CKPT.format(task="separation")),
               ("eval.separation_hop_frames=N", "hop in frames between the overlapping segments that are averaged"))),
    Verb("models", "list the trained models align and separate use by default, and whether they are there",
         "da_vae.verbs:models"),
    Verb("plan", "what training task task.name of this preset costs on N GPUs (both stages, measured here)",
         "da_vae.verbs:plan", _plan_args),
]

if __name__ == "__main__":
    sys.exit(main("da_vae", DaVaeConfig, VERBS, description=__doc__.splitlines()[0]))
