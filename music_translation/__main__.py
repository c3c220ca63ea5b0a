"""``python -m music_translation <verb> [key=value ...]``: prepare, train, eval, plan, models, translate, encode,
blend, domains, add-domain."""

from __future__ import annotations

import argparse
import sys

from common.lightning import Verb, main
from common.lightning.verbs import eval_verb, models_verb, plan_verb, train_verb
from music_translation.config import MusicTranslationConfig


def _translate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="audio file of any domain, rate and length")
    p.add_argument("--to", required=True, help="target domain (see the `domains` verb)")
    p.add_argument("--out", required=True, help="output audio file (.wav/.flac)")


def _encode_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", help="audio files")
    p.add_argument("--out-dir", default=".", help="where the .npy latents go")


def _blend_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("a", help="first audio file")
    p.add_argument("b", help="second audio file")
    p.add_argument("--to", help="decoder domain (default: the first domain)")
    p.add_argument("--out", required=True, help="output audio file")


def _add_domain_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", help="folder of audio files of the new domain (val/ and test/ sub-folders optional)")
    p.add_argument("--name", help="domain name (default: the folder's name)")


VERBS = [
    Verb("prepare", "build the synthetic domains (data.corpus) and cache every domain as mu-law arrays",
         "music_translation.verbs:prepare"),
    train_verb("train the encoder, the confusion net and one decoder per domain of data.domains",
               "music_translation.training:train"),
    eval_verb("train what is missing and write the paper's experiments to eval.out",
              "music_translation.evaluate:evaluate"),
    plan_verb("music_translation.verbs:plan"),
    models_verb("music_translation.verbs:default_models"),
    Verb("translate", "translate an audio file to another domain (ckpt=...)",
         "music_translation.verbs:translate", _translate_args),
    Verb("encode", "write the encoder's latents of audio files as .npy (ckpt=...)",
         "music_translation.verbs:encode", _encode_args),
    Verb("blend", "cross-fade two files in latent space and decode (ckpt=...)",
         "music_translation.verbs:blend", _blend_args),
    Verb("domains", "list the domains (decoders) of a checkpoint (ckpt=...)", "music_translation.verbs:domains"),
    Verb("add-domain", "train a decoder for a new domain folder on the frozen encoder (ckpt=...)",
         "music_translation.verbs:add_domain",
         _add_domain_args),
]

if __name__ == "__main__":
    sys.exit(main("music_translation", MusicTranslationConfig, VERBS, description=__doc__.splitlines()[0]))
