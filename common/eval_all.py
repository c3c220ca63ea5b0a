"""``make eval-all``: run every built paper's ``eval`` verb, then write the site index ``reports/index.html``.

A paper whose package (or its ``evaluate`` module) does not exist yet is listed as missing, never faked.
Each paper's eval verb writes its report through ``common.report`` to ``reports/<package>/`` (README.md,
index.html, results.json, figures, audio examples); this command then rebuilds the site index
``reports/index.html`` and ``reports/README.md``. Another preset's reports and site go to ``reports/<preset>/``
(``eval.out`` is set to match), so a ``paper`` run never overwrites the default's. A failed eval is reported and makes the exit code 1.

    python -m common.eval_all [--config default|paper] [key=value ...]

Paths are relative to the working directory (the repository root under ``make``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from common.lightning.cli import is_override
from common.report.site import PAPERS, Paper, is_built, record_status, write_site


def run_eval(paper: Paper, preset: str, overrides: list[str], reports: Path) -> tuple[str, float]:
    """Run ``python -m <package> eval`` writing to ``reports/<package>``; returns (status, seconds)."""
    start = time.time()
    result = subprocess.run([sys.executable, "-m", paper.package, "eval", "--config", preset,
                             f"eval.out={reports / paper.package}", *overrides])
    status = "ok" if result.returncode == 0 else f"failed (exit {result.returncode})"
    return status, time.time() - start


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m common.eval_all", description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="default", help="preset passed to every paper's eval")
    args = parser.parse_args([a for a in argv if not is_override(a)])
    overrides = [a for a in argv if is_override(a)]
    reports = Path("reports") if args.config == "default" else Path("reports") / Path(args.config).stem
    failed = False
    for paper in PAPERS:
        if not is_built(paper.package):
            print(f"eval-all: {paper.package}: missing (not built yet)", flush=True)
            record_status(reports, paper.package, "missing: not built yet", None)
            continue
        print(f"eval-all: {paper.package}: running `make {paper.make_target}`", flush=True)
        status, seconds = run_eval(paper, args.config, overrides, reports)
        record_status(reports, paper.package, status, seconds)
        failed |= status != "ok"
    index = write_site(reports, title=f"Reports (config preset `{args.config}`)", papers=PAPERS)
    print(f"eval-all: wrote {index} and {reports / 'README.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
