"""One command-line shape for every paper: ``python -m <package> <verb> [--config PRESET] [key=value ...]``.

Each package lists its verbs (``prepare``, ``train``, ``eval`` and task verbs such as ``align``); ``config``
is built in and prints the resolved configuration. Tokens of the form ``key=value`` are config overrides,
everything else belongs to the verb's own arguments. Input and config errors print one line and exit 2.
The shared ``threads`` key sets torch's CPU threads before the verb runs; ``-v`` (``log_level=info``) shows
Lightning's own messages. A verb's code may be named as ``"module:function"`` so that it is imported only when
that verb runs: ``--help`` and ``config`` then answer without importing torch or Lightning.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from omegaconf import DictConfig, OmegaConf

from common.errors import InputError
from common.lightning.config import load_config
from common.lightning.verbosity import LOG_FORMAT, configure_logging


@dataclass(frozen=True)
class Verb:
    """A subcommand: ``run(cfg, args)`` gets the typed config and the verb's parsed arguments; ``run`` is the
    function or its ``"module:function"`` name (imported when the verb runs)."""

    name: str
    help: str
    run: Callable[[DictConfig, argparse.Namespace], int | None] | str
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None
    keys: tuple[tuple[str, str], ...] = ()  # (key=VALUE, what it does): config keys this verb reads, in its --help

    def function(self) -> Callable[[DictConfig, argparse.Namespace], int | None]:
        return self.run if callable(self.run) else resolve(self.run)


def resolve(name: str) -> Callable:
    """The function a ``"module:function"`` name stands for, imported now."""
    module, _, attr = name.partition(":")
    return getattr(importlib.import_module(module), attr)


def _print_config(cfg: DictConfig, args: argparse.Namespace) -> None:
    print(OmegaConf.to_yaml(cfg), end="")


def set_threads(threads: int) -> None:
    """torch's intra-op CPU threads; before torch is imported through the environment it reads at start-up,
    so verbs that never use torch (``config``) don't import it."""
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    else:
        os.environ["OMP_NUM_THREADS"] = str(threads)


def seed_everything(seed: int) -> None:
    """Seeds python, numpy and torch before a verb runs, so models built before training starts (and anything
    else a verb draws) are the same on every launch; ``fit`` seeds again the same way."""
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (the global state is what unseeded library code draws from)
    torch.manual_seed(seed)


def is_override(token: str) -> bool:
    """``key=value`` with a dotted identifier key (not ``--flag=value``, not a path with '=')."""
    key, sep, _ = token.partition("=")
    return bool(sep) and not token.startswith("-") and all(
        part.isidentifier() for part in key.split("."))


def _verb_epilog(verb: Verb) -> str | None:
    if not verb.keys:
        return None
    lines = [f"  {key}\n" + textwrap.indent(textwrap.fill(text, 72, break_on_hyphens=False), "      ")
             for key, text in verb.keys]
    return "config keys this verb reads (key=value after the verb):\n" + "\n".join(lines)


def build_parser(package: str, verbs: Sequence[Verb], description: str = "") -> argparse.ArgumentParser:
    """``description`` may be a docstring line: its reST literals (````x````) print as plain text."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {package}", description=description.replace("``", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=textwrap.dedent(f"""\
            Config overrides go after the verb as key=value (e.g. trainer.devices=2 run.name=exp1);
            `python -m {package} config [key=value ...]` prints the resolved config with every key."""))
    sub = parser.add_subparsers(dest="verb", metavar="<verb>", required=True)
    for verb in [*verbs, Verb("config", "print the resolved config (all keys and their values)", _print_config)]:
        p = sub.add_parser(verb.name, help=verb.help, description=verb.help, epilog=_verb_epilog(verb),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("--config", default="default", metavar="PRESET",
                       help="preset name under configs/ (default, paper, ...) or a path to a .yaml file")
        p.add_argument("-v", "--verbose", action="count", default=0,
                       help="show Lightning's own messages (-v: log_level=info, -vv: debug)")
        if verb.add_arguments:
            verb.add_arguments(p)
        p.set_defaults(verb_spec=verb)
    return parser


def main(package: str, schema: type, verbs: Sequence[Verb], argv: Sequence[str] | None = None,
         description: str = "") -> int:
    """Parse ``argv``, load the config and run the verb; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    overrides = [a for a in argv if is_override(a)]
    parser = build_parser(package, verbs, description)
    args = parser.parse_args([a for a in argv if not is_override(a)])
    if args.verbose:
        overrides.append(f"log_level={'info' if args.verbose == 1 else 'debug'}")
    logging.basicConfig(level=os.environ.get("LOGLEVEL", "INFO"), format=LOG_FORMAT)
    try:
        cfg = load_config(schema, package, args.config, overrides)
        configure_logging(cfg.log_level)
        if cfg.threads > 0:
            set_threads(cfg.threads)
        if args.verb_spec.name != "config":
            seed_everything(cfg.run.seed)
        code = args.verb_spec.function()(cfg, args)
    except InputError as err:
        if os.environ.get("MUSICREP_DEBUG"):
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2
    return int(code or 0)
