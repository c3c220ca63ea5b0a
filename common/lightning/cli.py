"""One command-line shape for every paper: ``python -m <package> <verb> [--config PRESET] [key=value ...]``.

Each package lists its verbs (``prepare``, ``train``, ``eval`` and task verbs such as ``align``); ``config``
is built in and prints the resolved configuration. Tokens of the form ``key=value`` are config overrides,
everything else belongs to the verb's own arguments. Input and config errors print one line and exit 2.
The shared ``threads`` key sets torch's CPU threads before the verb runs.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from omegaconf import DictConfig, OmegaConf

from common.errors import InputError
from common.lightning.config import load_config


@dataclass(frozen=True)
class Verb:
    """A subcommand: ``run(cfg, args)`` gets the typed config and the verb's parsed arguments."""

    name: str
    help: str
    run: Callable[[DictConfig, argparse.Namespace], int | None]
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None


def _print_config(cfg: DictConfig, args: argparse.Namespace) -> None:
    print(OmegaConf.to_yaml(cfg), end="")


def is_override(token: str) -> bool:
    """``key=value`` with a dotted identifier key (not ``--flag=value``, not a path with '=')."""
    key, sep, _ = token.partition("=")
    return bool(sep) and not token.startswith("-") and all(
        part.isidentifier() for part in key.split("."))


def build_parser(package: str, verbs: Sequence[Verb], description: str = "") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m {package}", description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=textwrap.dedent(f"""\
            Config overrides go after the verb as key=value (e.g. trainer.devices=2 data.root=/data/MAPS);
            `python -m {package} config [key=value ...]` prints the resolved config with every key."""))
    sub = parser.add_subparsers(dest="verb", metavar="<verb>", required=True)
    for verb in [*verbs, Verb("config", "print the resolved config (all keys and their values)", _print_config)]:
        p = sub.add_parser(verb.name, help=verb.help, description=verb.help)
        p.add_argument("--config", default="default", metavar="PRESET",
                       help="preset name under configs/ (default, paper, ...) or a path to a .yaml file")
        if verb.add_arguments:
            verb.add_arguments(p)
        p.set_defaults(run=verb.run)
    return parser


def main(package: str, schema: type, verbs: Sequence[Verb], argv: Sequence[str] | None = None,
         description: str = "") -> int:
    """Parse ``argv``, load the config and run the verb; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    overrides = [a for a in argv if is_override(a)]
    parser = build_parser(package, verbs, description)
    args = parser.parse_args([a for a in argv if not is_override(a)])
    logging.basicConfig(level=os.environ.get("LOGLEVEL", "INFO"), format="%(levelname)s %(name)s: %(message)s")
    try:
        cfg = load_config(schema, package, args.config, overrides)
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        code = args.run(cfg, args)
    except InputError as err:
        if os.environ.get("MUSICREP_DEBUG"):
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2
    return int(code or 0)
