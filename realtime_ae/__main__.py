"""``python -m realtime_ae prepare|train|eval|models|plan|export|render|resynth|play [--config P] [key=value]``."""

from __future__ import annotations

import argparse
import sys

from common.lightning import Verb, main
from common.lightning.verbs import eval_verb, models_verb, plan_verb, train_verb
from realtime_ae.config import RealtimeAeConfig


def _render_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trajectory", help="CSV: time,z0,...,z<L-1>,chroma[,volume] (seconds, latents, C..B or "
                                           "0-11, 0-1)")
    parser.add_argument("--out", required=True, help="the .wav to write")


def _resynth_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="the recording to encode and decode (wav/flac/ogg/mp3)")
    parser.add_argument("--out", required=True, help="the .wav to write")


def _export_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", help="directory for decoder.{pt,onnx,json} (default: <run>/export)")


def _play_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--midi", metavar="PORT", help="MIDI input port: note-on sets the chroma, velocity the "
                                                       "volume")


V = "realtime_ae.verbs:"
VERBS = [
    Verb("prepare", "build the corpus (synthetic scales by default) and cache its frames", V + "prepare"),
    train_verb("train one autoencoder (model.*) on data.corpus", "realtime_ae.training:train"),
    eval_verb("train what is missing and write the paper's Tables I-V and figures to eval.out",
              "realtime_ae.evaluate:evaluate"),
    models_verb(V + "default_models"),
    plan_verb("realtime_ae.scale:plan"),
    Verb("export", "export the decoder of ckpt (or this run) to TorchScript and ONNX", V + "export",
         _export_args),
    Verb("render", "render a scripted latent trajectory to a .wav offline", V + "render", _render_args),
    Verb("resynth", "encode a recording and decode it with latent scaling (synth.latent_scale)", V + "resynth",
         _resynth_args),
    Verb("play", "the real-time synth window, streamed to the sound card (optionally played by MIDI)", V + "play",
         _play_args),
]

if __name__ == "__main__":
    sys.exit(main("realtime_ae", RealtimeAeConfig, VERBS, description=__doc__.splitlines()[0]))
