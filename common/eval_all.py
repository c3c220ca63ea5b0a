"""``make eval-all``: run every built paper's ``eval`` verb and write ``reports/README.md`` linking their tables.

A paper whose package (or its ``evaluate`` module) does not exist yet is listed as missing, never faked.
Each paper's eval verb writes its tables to ``reports/<package>/README.md`` (plus json and figures);
a failed eval is reported and makes the exit code 1.

    python -m common.eval_all [--config default|paper] [key=value ...]

Paths are relative to the working directory (the repository root under ``make``).
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from common.lightning.cli import is_override


@dataclass(frozen=True)
class Paper:
    package: str
    title: str
    make_target: str


PAPERS = (
    Paper("da_vae", "Domain-adaptive VAE: audio-to-MIDI / singing alignment, voice separation "
          "(Luo & Su, ISMIR 2018)", "eval-davae"),
    Paper("music_translation", "Universal music translation network (Mor et al., 2018)", "eval-translation"),
    Paper("speech2sing", "Speech-to-singing conversion (Parekh et al., ICASSP 2020)", "eval-speech2sing"),
    Paper("gmvae_timbre", "GMVAE timbre/pitch disentanglement (Luo et al., ISMIR 2019)", "eval-gmvae"),
    Paper("realtime_ae", "Real-time timbre autoencoder synthesizer (Colonel & Keene, 2020)", "eval-realtime"),
)


def is_built(package: str) -> bool:
    try:
        return importlib.util.find_spec(f"{package}.evaluate") is not None
    except ModuleNotFoundError:
        return False


def run_eval(paper: Paper, preset: str, overrides: list[str]) -> tuple[str, float]:
    """Run ``python -m <package> eval``; returns (status, seconds)."""
    start = time.time()
    result = subprocess.run([sys.executable, "-m", paper.package, "eval", "--config", preset, *overrides])
    status = "ok" if result.returncode == 0 else f"failed (exit {result.returncode})"
    return status, time.time() - start


def write_index(reports: Path, rows: list[tuple[Paper, str, float | None]], preset: str) -> Path:
    lines = ["# Reports", "", f"Written by `make eval-all` (config preset `{preset}`).", "",
             "| paper | status | tables | seconds |", "|---|---|---|---|"]
    for paper, status, seconds in rows:
        table = reports / paper.package / "README.md"
        link = f"[{paper.package}]({paper.package}/README.md)" if status == "ok" and table.is_file() else "-"
        took = f"{seconds:.0f}" if seconds is not None else "-"
        lines.append(f"| {paper.title} | {status} | {link} | {took} |")
    reports.mkdir(parents=True, exist_ok=True)
    index = reports / "README.md"
    index.write_text("\n".join(lines) + "\n")
    return index


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m common.eval_all", description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="default", help="preset passed to every paper's eval")
    args = parser.parse_args([a for a in argv if not is_override(a)])
    overrides = [a for a in argv if is_override(a)]
    rows: list[tuple[Paper, str, float | None]] = []
    for paper in PAPERS:
        if not is_built(paper.package):
            print(f"eval-all: {paper.package}: missing (not built yet)", flush=True)
            rows.append((paper, "missing: not built yet", None))
            continue
        print(f"eval-all: {paper.package}: running `make {paper.make_target}`", flush=True)
        status, seconds = run_eval(paper, args.config, overrides)
        rows.append((paper, status, seconds))
    index = write_index(Path("reports"), rows, args.config)
    print(f"eval-all: wrote {index}")
    return 1 if any(status.startswith("failed") for _, status, _ in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
