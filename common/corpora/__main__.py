"""``python -m common.corpora build [--root data/synthetic] [--only maps,mir1k] [--size tiny|default|N]
[--seed N] [--force]`` builds the synthetic corpora (skipping complete ones) and prints a table of files,
hours of audio and build seconds; ``python -m common.corpora list [--root ...]`` shows what is built."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from common.corpora import CORPORA, DEFAULT_ROOT, corpus_status, ensure_corpus
from common.corpora.manifest import PARTIAL_TAG
from common.errors import InputError
from common.lightning.verbosity import LOG_FORMAT


def _parse(argv):
    parser = argparse.ArgumentParser(prog="python -m common.corpora", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build missing or incomplete corpora")
    listing = commands.add_parser("list", help="list corpora and their state under --root")
    for command in (build, listing):
        command.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="where corpora live")
    build.add_argument("--only", default=",".join(CORPORA), help=f"comma-separated subset of {','.join(CORPORA)}")
    build.add_argument("--size", default="default", help="tiny, default or a positive integer")
    build.add_argument("--seed", type=int, default=0)
    build.add_argument("--force", action="store_true", help="rebuild even if complete")
    return parser.parse_args(argv)


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows])


def _listing(root: Path) -> str:
    rows = []
    for name, spec in CORPORA.items():
        manifest = corpus_status(name, root) or {}
        current = manifest.get("version") == spec.generator().VERSION
        state = "complete" if current else "outdated (rebuilt on next use)"
        if not manifest:
            half_made = (root / name).exists() or any(root.glob(f".{name}{PARTIAL_TAG}*"))
            state = (f"incomplete (a killed or failed build; `python -m common.corpora build --root {root} --only "
                     f"{name}` rebuilds it)") if half_made else "missing"
        rows.append([name, spec.stands_in_for, state, manifest.get("size", "-"), manifest.get("seed", "-"),
                     manifest.get("files", "-"), manifest.get("hours", "-")])
    return _table(["corpus", "stands in for", "state", "size", "seed", "files", "hours"], rows)


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    args = _parse(argv)
    try:
        if args.command == "list":
            print(_listing(args.root))
            return 0
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in CORPORA]
        if unknown:
            raise InputError(f"unknown corpus {', '.join(unknown)}; choose from {', '.join(CORPORA)}")
        rows = []
        for name in names:
            started = time.perf_counter()
            path = ensure_corpus(name, args.root, size=args.size, seed=args.seed, force=args.force)
            manifest = corpus_status(name, args.root)
            rows.append([name, manifest["files"], manifest["hours"], f"{time.perf_counter() - started:.1f}", path])
        print(_table(["corpus", "files", "hours", "build s", "path"], rows))
        return 0
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
