"""``make readme-results``: the numbers the repository quotes, copied from one ``make eval-all``, never typed.

1. Each paper's report in ``reports/[<preset>/]<package>/`` (README.md, results.json and its figures; no audio)
   is copied to ``docs/results/<preset>/<package>/``, where it is committed.
2. The block of README.md between :data:`BEGIN` and :data:`END` is rewritten from those results.json files:
   per paper its headline numbers beside the paper's, the claims that hold, the "On new inputs" targets met,
   the eval's wall time, the date and the machine.
3. With ``--plan FOLDER`` (``make readme-plan``), only the block between :data:`PLAN_BEGIN` and :data:`PLAN_END`
   is rewritten, from the ``plan --json`` files of the paper presets in FOLDER.

    python -m common.report.publish [--preset default] [--reports reports] [--docs docs/results] [--readme README.md]
    python -m common.report.publish --plan docs/results/plan
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from common.errors import InputError
from common.plan import duration, si
from common.report.site import PAPERS

BEGIN = "<!-- results:begin: written by `make readme-results` from docs/results/default/*/results.json -->"
END = "<!-- results:end -->"
PLAN_BEGIN = "<!-- plan:begin: written by `make readme-plan` from docs/results/plan/*.json -->"
PLAN_END = "<!-- plan:end -->"
FIGURES = (".png", ".svg", ".jpg")
BUDGET_MINUTES = 45  # `make eval-all` on 2 idle cores


def publish(reports: Path, out: Path) -> list[Path]:
    """Copy every paper's report that exists under ``reports`` into ``out``; returns the results.json copies."""
    written = []
    for paper in PAPERS:
        source = reports / paper.package
        if not (source / "results.json").is_file():
            continue
        target = out / paper.package
        if target.exists():
            shutil.rmtree(target)
        for path in sorted(source.rglob("*")):
            if path.is_file() and (path.name in ("README.md", "results.json") or path.suffix in FIGURES):
                dest = target / path.relative_to(source)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, dest)
        written.append(target / "results.json")
    if not written:
        raise InputError(f"{reports}: no paper report found (no */results.json); run `make eval-all` first")
    return written


def _targets(results: dict) -> str:
    entry = results.get("results", {}).get("new_inputs")
    if not entry:
        return "–"
    met = sum(t["holds"] for t in entry["targets"])
    return f"{met} of {len(entry['targets'])}"


def results_block(out: Path, link_base: str) -> str:
    """The README table of the published results under ``out`` (links relative to the README)."""
    rows = ["| paper | headline: ours / paper | claims that hold | On new inputs: targets met | eval wall time |",
            "|---|---|---|---|---|"]
    dates, machines, commits, seconds = set(), set(), set(), []
    for paper in PAPERS:
        path = out / paper.package / "results.json"
        if not path.is_file():
            rows.append(f"| {paper.package} | not published | – | – | – |")
            continue
        r = json.loads(path.read_text())
        dates.add(r.get("date", "?"))
        machines.add(r.get("machine", "?"))
        commits.add(r.get("commit") or "not recorded")
        headline = "; ".join(f"{h['name']}: {h['ours']} / {h['paper']}" for h in r.get("headline", [])) or "–"
        claims = r.get("claims", [])
        held = sum(c["holds"] for c in claims)
        minutes = f"{r['seconds'] / 60:.1f} min" if r.get("seconds") else "–"
        seconds.append(r.get("seconds"))
        rows.append(f"| [{paper.package}]({link_base}/{paper.package}/README.md) | {headline} | {held} of "
                    f"{len(claims)} | {_targets(r)} | {minutes} |")
    when = (f"Computed on {', '.join(sorted(dates))} on {'; '.join(sorted(machines))}, from commit "
            f"{', '.join(sorted(commits))}.")
    if len(commits) > 1:
        when += (" These reports come from more than one run, so their wall times are not one `make eval-all`'s "
                 "and are not added up.")
    elif len(seconds) == len(PAPERS) and all(seconds):
        minutes = sum(seconds) / 60
        verdict = "within" if minutes <= BUDGET_MINUTES else "over"
        when += (f" The five evals took {minutes:.1f} min of wall time in all: {verdict} the {BUDGET_MINUTES}-minute "
                 "budget of `make eval-all`.")
    return "\n".join([BEGIN, "", when, "", *rows, "", END])


def plan_block(folder: Path) -> str:
    """The README table of what each paper preset costs, from ``<folder>/<package>.json`` (``plan --json``)."""
    rows = ["| paper | GPUs | parameters (paper) | FLOPs per step per rank | memory per rank | all-reduce per "
            "step | steps | projected wall time | loader processes needed |", "|---|---|---|---|---|---|---|---|---|"]
    assumptions = set()
    for paper in PAPERS:
        path = folder / f"{paper.package}.json"
        if not path.is_file():
            rows.append(f"| {paper.package} | not measured | | | | | | | |")
            continue
        p = json.loads(path.read_text())
        assumptions.add(p["assumptions"])
        given = ", ".join(f"{k} {si(v)}" for k, v in p["paper_params"].items()) or "not given"
        loader = "no data prepared" if p["loader_workers_needed"] is None else str(p["loader_workers_needed"])
        if "stand-in" in p.get("loader_data", ""):
            loader += " (stand-in)"
        rows.append(f"| {paper.package} | {p['world']} x {p['gpu']} | {si(p['params'])} ({given}) | "
                    f"{si(p['flops_per_step'], 'FLOP')} | {p['activation_gb'] + p['state_gb']:.2f} GB | "
                    f"{p['allreduce_mb']:.1f} MB | {p['max_steps']:,} | {duration(p['hours'])} | {loader} |")
    notes = [f"Assumptions: {a}." for a in sorted(assumptions)]
    notes.append("The projection counts FLOPs and all-reduce bytes only: a step of a few milliseconds or less is "
                 "bound by kernel launches and the data loader instead, which it does not model. The loader column "
                 "is measured on the preset's data where it is on this machine (`DATA=`), else, marked stand-in, "
                 "on the default's synthetic corpus read at the preset's sample rate, segment and batch.")
    return "\n".join([PLAN_BEGIN, "", *rows, "", *notes, "", PLAN_END])


def update_readme(readme: Path, block: str, begin: str = BEGIN, end: str = END) -> None:
    text = readme.read_text()
    if begin not in text or end not in text:
        raise InputError(f"{readme}: has no block for this; put the two lines {begin!r} and {end!r} where it goes")
    head, rest = text.split(begin, 1)
    tail = rest.split(end, 1)[1]
    readme.write_text(head + block + tail)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m common.report.publish", description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--reports", default="reports", help="where make eval-all wrote the reports")
    parser.add_argument("--docs", default="docs/results", help="where the published copies go")
    parser.add_argument("--readme", default="README.md", help="README to update (default preset only)")
    parser.add_argument("--plan", help="only rewrite the README's plan block from this folder's plan JSON files")
    args = parser.parse_args(argv)
    if args.plan:
        try:
            update_readme(Path(args.readme), plan_block(Path(args.plan)), PLAN_BEGIN, PLAN_END)
        except InputError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        print(f"updated {args.readme} from {args.plan}")
        return 0
    reports = Path(args.reports) / ("" if args.preset == "default" else args.preset)
    out = Path(args.docs) / args.preset
    try:
        written = publish(reports, out)
        if args.preset == "default":
            update_readme(Path(args.readme), results_block(out, str(out)))
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"published {len(written)} reports to {out}" + (f" and updated {args.readme}" if args.preset == "default"
                                                          else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
