"""Mutation testing with hand-written mutants: plausible one-line bugs, each applied alone to a copy of the
source tree, and the tests that should catch it run against that copy.

    python -m tools.mutate [PACKAGE ...] [--only ID ...] [--jobs 2] [--out mutation.md]

Mutants are data, one YAML list per package (``tools/mutants/<package>.yaml``): the file, the exact text it
replaces (which must occur once), the replacement, what the bug means, and the tests to run (default: the
package's test folder, without ``slow`` tests). A mutant is *caught* when a test fails; the first failing test is
named. A mutant whose text is not found is an error (the source moved on: update the mutant). The result is a
markdown table and the kill rate per package.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", "data", "runs", "reports", "wandb", "__pycache__",
                                     ".pytest_cache", ".ruff_cache", "*.egg-info", "lightning_logs")


@dataclass(frozen=True)
class Mutant:
    id: str
    file: str
    old: str
    new: str
    what: str
    tests: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    package: str
    caught: bool
    by: str
    seconds: float


MUTANTS = ROOT / "tools" / "mutants"


def load(package: str) -> list[Mutant]:
    path = MUTANTS / f"{package}.yaml"
    try:
        return [Mutant(**{**e, "tests": tuple(e.get("tests", ()))}) for e in yaml.safe_load(path.read_text())]
    except (OSError, TypeError, AttributeError, yaml.YAMLError) as err:
        raise SystemExit(f"{path}: not a list of mutants with id, file, old, new, what (and tests): "
                         f"{str(err).splitlines()[0]}") from None


def packages() -> list[str]:
    return sorted(p.stem for p in MUTANTS.glob("*.yaml"))


def occurrences(mutant: Mutant, tree: Path = ROOT) -> int:
    """How often the mutant's text occurs in its file under ``tree`` (it applies only when once)."""
    return (tree / mutant.file).read_text().count(mutant.old)


def apply(tree: Path, mutant: Mutant) -> None:
    count = occurrences(mutant, tree)
    if count != 1:
        raise SystemExit(f"mutant {mutant.id}: its text occurs {count} times in {mutant.file} (must be once); "
                         "update tools/mutants")
    path = tree / mutant.file
    path.write_text(path.read_text().replace(mutant.old, mutant.new))


def run(package: str, mutant: Mutant, timeout: float) -> Outcome:
    start = time.time()
    with tempfile.TemporaryDirectory(prefix=f"mutant-{mutant.id}-") as tmp:
        tree = Path(tmp) / "tree"
        shutil.copytree(ROOT, tree, ignore=COPY_IGNORE, symlinks=True)
        for shared in ("data", "runs"):  # corpora and cached runs are read-only inputs of the tests
            if (ROOT / shared).exists():
                (tree / shared).symlink_to(ROOT / shared)
        apply(tree, mutant)
        tests = list(mutant.tests) or [f"tests/{package}"]
        cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-m", "not slow", "-p", "no:cacheprovider", "-rf",
               *tests]
        try:
            result = subprocess.run(cmd, cwd=tree, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return Outcome(mutant, package, True, f"timeout after {timeout:.0f} s", time.time() - start)
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", result.stdout, re.M)
    caught = result.returncode != 0
    by = failed[0] if failed else (f"exit {result.returncode}" if caught else "")
    return Outcome(mutant, package, caught, by, time.time() - start)


def table(outcomes: list[Outcome]) -> str:
    lines = ["| package | mutant | the bug | caught by |", "|---|---|---|---|"]
    for o in outcomes:
        lines.append(f"| {o.package} | {o.mutant.id} | {o.mutant.what} | "
                     f"{('`' + o.by + '`') if o.caught else '**survived**'} |")
    lines += ["", "| package | caught | mutants | kill rate |", "|---|---|---|---|"]
    for package in dict.fromkeys(o.package for o in outcomes):
        mine = [o for o in outcomes if o.package == package]
        caught = sum(o.caught for o in mine)
        lines.append(f"| {package} | {caught} | {len(mine)} | {caught / len(mine):.0%} |")
    caught = sum(o.caught for o in outcomes)
    lines.append(f"| all | {caught} | {len(outcomes)} | {caught / max(1, len(outcomes)):.0%} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.mutate", description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="*", help=f"default: all ({', '.join(packages())})")
    parser.add_argument("--only", nargs="*", default=[], help="mutant ids to run")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per mutant")
    parser.add_argument("--out", help="also write the table to this markdown file")
    args = parser.parse_args(argv)
    todo = [(p, m) for p in (args.packages or packages()) for m in load(p) if not args.only or m.id in args.only]
    if not todo:
        print("no mutants selected", file=sys.stderr)
        return 2
    for _package, mutant in todo:  # every mutant's text must be there before anything runs
        if occurrences(mutant) != 1:
            raise SystemExit(f"mutant {mutant.id}: its text does not occur exactly once in {mutant.file}; "
                             "update tools/mutants")
    outcomes: list[Outcome] = []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(run, p, m, args.timeout) for p, m in todo]
        for future in futures:
            o = future.result()
            outcomes.append(o)
            print(f"{o.package}/{o.mutant.id}: {'caught by ' + o.by if o.caught else 'SURVIVED'} "
                  f"({o.seconds:.0f} s)", flush=True)
    text = table(outcomes)
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0 if all(o.caught for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
