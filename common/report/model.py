"""What a paper's evaluation hands to the report writer: plain data, no markdown and no HTML."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Cell = str | int | float | None


@dataclass
class Table:
    """A table: ``rows`` of cells under ``columns``; floats are printed with ``digits`` decimals, None as "–"."""

    columns: list[str]
    rows: list[list[Cell]]
    caption: str = ""
    digits: int = 2

    def __post_init__(self):
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(f"table {self.caption!r}: row {i} has {len(row)} cells for "
                                 f"{len(self.columns)} columns")

    def cell_text(self, value: Cell) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "–"
        if isinstance(value, float | np.floating):
            return f"{float(value):.{self.digits}f}"
        return str(value)


@dataclass
class Figure:
    """A picture the evaluation saved as ``file`` (a path relative to the report's folder)."""

    file: str
    caption: str = ""


@dataclass
class Section:
    """A heading, markdown text, then tables and figures."""

    title: str
    text: str = ""
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)


@dataclass
class Claim:
    """One ordering or claim of the paper, checked on our numbers."""

    claim: str
    holds: bool
    evidence: str = ""


@dataclass
class Headline:
    """A number for the site index, beside the paper's (None where the paper gives none)."""

    name: str
    ours: float | None
    paper: float | None = None
    unit: str = ""
    digits: int = 2

    def text(self, value: float | None) -> str:
        return "–" if value is None else f"{value:.{self.digits}f}{(' ' + self.unit) if self.unit else ''}"


@dataclass
class Clip:
    """One sound of an example row: ``audio`` is mono float (samples,) in about [-1, 1] at ``sample_rate`` Hz;
    ``role`` says what it is (input, output, target, reconstruction, ...)."""

    role: str
    audio: Any
    sample_rate: int
    caption: str = ""


@dataclass
class Example:
    """A row of clips heard side by side (e.g. input / output / target)."""

    title: str
    clips: list[Clip]


@dataclass
class Report:
    """Everything ``write_report`` needs for ``reports/<package>/``: README.md, index.html, results.json, examples."""

    package: str
    title: str
    summary: str = ""
    sections: list[Section] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    headline: list[Headline] = field(default_factory=list)
    examples: list[Example] = field(default_factory=list)
    notes: str = ""
    seconds: float | None = None
    results: dict = field(default_factory=dict)
