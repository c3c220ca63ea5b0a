"""Command-line start-up: `--help`, `config` and an argument error of every built paper's CLI, against the bare
interpreter (`python -c pass`) and the 1 s budget, best of N runs each in fresh processes.

    .venv/bin/python bench/cli.py [N]
"""

import os
import subprocess
import sys
import time

from common.report.site import PAPERS, is_built

COMMANDS = {"--help": ["--help"], "config": ["config"], "bad key": ["train", "nope=1"]}
BUDGET = 1.0


def best_of(argv: list[str], n: int) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        subprocess.run([sys.executable, *argv], capture_output=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; best of {n} runs")
    bare = best_of(["-c", "pass"], n)
    print(f"bare interpreter: {bare:.3f} s\n")
    print("| package | command | seconds | / budget 1 s | / bare interpreter |")
    print("|---|---|---:|---:|---:|")
    worst = 0.0
    for paper in PAPERS:
        if not is_built(paper.package):
            continue
        for name, args in COMMANDS.items():
            seconds = best_of(["-m", paper.package, *args], n)
            worst = max(worst, seconds)
            print(f"| {paper.package} | {name} | {seconds:.3f} | {seconds / BUDGET:.2f} | {seconds / bare:.1f} |")
    print(f"\nslowest / budget: {worst / BUDGET:.2f}")


if __name__ == "__main__":
    main()
