"""One report contract for every paper: an evaluation builds a ``Report`` (tables, figures, claims, audio
examples, notes) and ``write_report`` writes ``reports/<package>/{README.md,index.html,results.json,examples/}``
and the site index ``reports/index.html``. ``python -m common.report serve`` serves ``reports/`` on localhost."""

from common.report.model import Claim, Clip, Example, Figure, Headline, Report, Section, Table
from common.report.site import PAPERS, Paper, write_site
from common.report.stats import Tost, format_ci, mean_ci, paired_diff, tost
from common.report.writer import write_report

__all__ = ["Claim", "Clip", "Example", "Figure", "Headline", "PAPERS", "Paper", "Report", "Section", "Table",
           "Tost", "format_ci", "mean_ci", "paired_diff", "tost", "write_report", "write_site"]
