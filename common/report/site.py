"""The site index: ``reports/index.html`` and ``reports/README.md``, one row per paper, rebuilt from what each
paper's report left in ``reports/<package>/results.json`` and what ``make eval-all`` recorded in
``reports/status.json``."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

from common.report.render import render


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
STATUS_FILE = "status.json"


def is_built(package: str) -> bool:
    try:
        return importlib.util.find_spec(f"{package}.evaluate") is not None
    except ModuleNotFoundError:
        return False


def record_status(reports: Path, package: str, status: str, seconds: float | None) -> None:
    """Remember how ``make eval-all`` ended for ``package`` (kept across runs of the other papers)."""
    path = reports / STATUS_FILE
    statuses = json.loads(path.read_text()) if path.is_file() else {}
    statuses[package] = {"status": status, "seconds": seconds}
    reports.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(statuses, indent=2))


def paper_rows(reports: Path, papers=PAPERS) -> list[dict]:
    """One dict per paper for the index templates."""
    status_path = reports / STATUS_FILE
    statuses = json.loads(status_path.read_text()) if status_path.is_file() else {}
    rows = []
    for paper in papers:
        summary_path = reports / paper.package / "results.json"
        summary = json.loads(summary_path.read_text()) if summary_path.is_file() else None
        recorded = statuses.get(paper.package, {})
        if recorded.get("status", "ok") != "ok":
            status = recorded["status"]
        elif summary is not None:
            status = "ok"
        elif not is_built(paper.package):
            status = "missing: not built yet"
        else:
            status = f"not evaluated yet: make {paper.make_target}"
        claims = summary.get("claims", []) if summary else []
        seconds = summary.get("seconds") if summary else None
        rows.append({
            "package": paper.package, "title": paper.title, "status": status, "ok": status == "ok",
            "html": f"{paper.package}/index.html", "markdown": f"{paper.package}/README.md",
            "headline": summary.get("headline", []) if summary else [],
            "held": [c["claim"] for c in claims if c["holds"]], "claims": len(claims),
            "seconds": recorded.get("seconds") or seconds,
        })
    return rows


def write_site(reports: Path, title: str = "Reports", papers=PAPERS) -> Path:
    """Writes ``reports/index.html`` and ``reports/README.md``; returns the HTML path."""
    reports = Path(reports)
    reports.mkdir(parents=True, exist_ok=True)
    context = {"title": title, "papers": paper_rows(reports, papers)}
    (reports / "README.md").write_text(render("index.md.j2", context))
    index = reports / "index.html"
    index.write_text(render("index.html.j2", context))
    return index
