"""``make eval-all``: run every built paper's ``eval`` verb, then write the site index ``reports/index.html``.

A paper whose package (or its ``evaluate`` module) does not exist yet is listed as missing, never faked.
Each paper's eval verb writes its report through ``common.report`` to ``reports/<package>/`` (README.md,
index.html, results.json, figures, audio examples); this command then rebuilds the site index
``reports/index.html`` and ``reports/README.md``. Another preset's reports and site go to ``reports/<preset>/``
(``eval.out`` is set to match), so a ``paper`` run never overwrites the default's. A failed eval is reported
and makes the exit code 1. While the first paper's eval runs, the other papers' ``prepare`` verbs run at low
priority in the background (:class:`PrepareAhead`, log ``reports/prepare-ahead.log``).

    python -m common.eval_all [--config default|paper] [key=value ...]

Paths are relative to the working directory (the repository root under ``make``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
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


def prepare_commands(papers: list[Paper], preset: str, overrides: list[str]) -> list[list[str]]:
    """``python -m <package> prepare --config <preset> <overrides>`` of each paper."""
    return [[sys.executable, "-m", p.package, "prepare", "--config", preset, *overrides] for p in papers]


class PrepareAhead:
    """``commands`` (e.g. :func:`prepare_commands`) in turn, in one background thread at the lowest CPU priority
    (``nice 19``), their output in ``log``: the later papers' corpora and feature caches get built in the cycles
    the running evals leave idle (a one-threaded corpus build, figures, report writing) instead of on the
    critical path. Each eval still prepares what it needs: the builds are locked, so an eval that reaches a
    corpus still being built waits for it, and one that finds it built uses it. A failed prepare is logged; its
    eval then prepares (and reports) itself."""

    def __init__(self, commands: list[list[str]], log: Path):
        self.commands, self.log, self.process, self.stopped = commands, log, None, False
        self.lock = threading.Lock()  # a kill cannot fall between the check of ``stopped`` and a start
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "w") as out:
            for command in self.commands:
                with self.lock:
                    if self.stopped:
                        return
                    self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                                    preexec_fn=lambda: os.nice(19))
                out.write(f"eval-all: prepare-ahead `{' '.join(command)}`: exit {self.process.wait()}\n")
                out.flush()

    def wait(self) -> None:
        self.thread.join()

    def kill(self) -> None:
        """End it now (an eval-all stopped by an error or Ctrl-C leaves no prepare running)."""
        with self.lock:
            self.stopped = True
            if self.process is not None and self.process.poll() is None:
                self.process.kill()
        self.thread.join()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m common.eval_all", description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="default", help="preset passed to every paper's eval")
    args = parser.parse_args([a for a in argv if not is_override(a)])
    overrides = [a for a in argv if is_override(a)]
    reports = Path("reports") if args.config == "default" else Path("reports") / Path(args.config).stem
    failed = False
    built = [paper for paper in PAPERS if is_built(paper.package)]
    ahead = PrepareAhead(prepare_commands(built[1:], args.config, overrides), reports / "prepare-ahead.log")
    try:
        for paper in PAPERS:
            if paper not in built:
                print(f"eval-all: {paper.package}: missing (not built yet)", flush=True)
                record_status(reports, paper.package, "missing: not built yet", None)
                continue
            print(f"eval-all: {paper.package}: running `make {paper.make_target}`", flush=True)
            status, seconds = run_eval(paper, args.config, overrides, reports)
            record_status(reports, paper.package, status, seconds)
            failed |= status != "ok"
        ahead.wait()
    finally:
        ahead.kill()
    index = write_site(reports, title=f"Reports (config preset `{args.config}`)", papers=PAPERS)
    print(f"eval-all: wrote {index} and {reports / 'README.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
