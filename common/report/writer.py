"""``write_report``: one paper's report data -> ``README.md``, ``index.html``, ``results.json`` and audio examples
in its folder, then the site index one level up."""

from __future__ import annotations

import datetime
import json
import logging
import os
import platform
import subprocess
from dataclasses import asdict
from pathlib import Path

import numpy as np

from common.report.audio import write_examples
from common.report.model import Report
from common.report.render import render
from common.report.site import write_site

log = logging.getLogger(__name__)


def _context(report: Report, examples) -> dict:
    sections = [{"title": s.title, "text": s.text, "figures": s.figures,
                 "tables": [{"caption": t.caption, "columns": t.columns,
                             "rows": [[{"text": t.cell_text(c), "number": isinstance(c, int | float | np.number)}
                                       for c in row] for row in t.rows]} for t in s.tables]}
                for s in report.sections]
    held = [c for c in report.claims if c.holds]
    return {"report": report, "sections": sections, "examples": examples, "held": held,
            "headline": [{"name": h.name, "ours": h.text(h.ours), "paper": h.text(h.paper)} for h in report.headline]}


def machine() -> str:
    """The CPU model and core count the report was computed on (Linux; the platform's processor elsewhere)."""
    cpuinfo = Path("/proc/cpuinfo")
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                  if line.startswith("model name")), None) if cpuinfo.is_file() else None
    return f"{model or platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def commit(directory: Path | None = None) -> str | None:
    """The git commit of ``directory`` (default: this project's) a report was computed from: short hash, with
    ``+changes`` when tracked files differ from it; None outside a git checkout."""
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=directory or Path(__file__).parent, capture_output=True, text=True)

    try:
        head = git("rev-parse", "--short", "HEAD")
    except OSError:  # no git on this machine
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + ("+changes" if git("diff", "--quiet", "HEAD").returncode else "")


def summary(report: Report) -> dict:
    """What ``results.json`` holds besides the paper's own payload; the site index and ``make readme-results``
    read it."""
    return {"package": report.package, "title": report.title, "seconds": report.seconds,
            "date": datetime.date.today().isoformat(), "machine": machine(), "commit": commit(),
            "headline": [{"name": h.name, "ours": h.text(h.ours), "paper": h.text(h.paper)} for h in report.headline],
            "claims": [asdict(c) for c in report.claims]}


def write_report(report: Report, out: str | Path) -> Path:
    """Writes the report into ``out`` (normally ``reports/<package>``) and refreshes the site index in its parent;
    returns the path of ``README.md``. Figures must already be saved in ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    missing = [f.file for s in report.sections for f in s.figures if not (out / f.file).is_file()]
    if missing:
        raise FileNotFoundError(f"{out}: figure file(s) {missing} not found; save each figure there before "
                                "calling write_report")
    examples = write_examples(report.examples, out)
    payload = {**summary(report), "results": report.results}
    (out / "results.json").write_text(json.dumps(payload, indent=2, allow_nan=True))
    context = _context(report, examples)
    (out / "README.md").write_text(render("paper.md.j2", context))
    (out / "index.html").write_text(render("paper.html.j2", context))
    index = write_site(out.parent)
    log.info("report written to %s (site index %s)", out / "index.html", index)
    return out / "README.md"
