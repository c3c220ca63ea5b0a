"""The "On new inputs" section every report carries: measures of the default models on held-out inputs
(:mod:`common.heldout`), one row per model (seed, thread setting) and input set, each held against a stated
target; a target counts as met only when every row meets it."""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass

from common.report.model import Section, Table

_OPS = {">=": operator.ge, "<=": operator.le, "==": operator.eq}


@dataclass(frozen=True)
class Target:
    """``measure`` (a row key) ``op`` (">=", "<=" or "==") ``value``; ``what`` says it in words."""

    measure: str
    op: str
    value: float
    what: str = ""

    def met(self, x: float | None) -> bool:
        return x is not None and not (isinstance(x, float) and math.isnan(x)) and _OPS[self.op](x, self.value)

    def text(self) -> str:
        return f"{self.measure} {self.op} {self.value:g}"


def target_summary(rows: list[dict], targets: list[Target]) -> list[dict]:
    """Per target: how many rows meet it, the worst value, and whether all do."""
    out = []
    for t in targets:
        values = [r.get(t.measure) for r in rows]
        finite = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
        worst = (min if t.op == ">=" else max)(finite) if finite else None
        met = sum(t.met(v) for v in values)
        out.append({"target": t.text(), "what": t.what, "rows_met": met, "rows": len(rows), "worst": worst,
                    "holds": bool(rows) and met == len(rows)})
    return out


def new_inputs_section(rows: list[dict], keys: list[str], targets: list[Target], text: str,
                       digits: int = 2) -> tuple[Section, dict]:
    """The report section and its ``results.json`` entry. ``rows`` are dicts holding ``keys`` (seed, threads,
    input, ...) and every target's measure; each row's last column lists the targets it misses."""
    measures = [t.measure for t in targets]
    table = Table([*keys, *measures, "misses"],
                  [[r.get(k) for k in keys] + [r.get(m) for m in measures]
                   + [", ".join(t.text() for t in targets if not t.met(r.get(t.measure))) or "none"]
                   for r in rows], caption="Per model and input set", digits=digits)
    summary = target_summary(rows, targets)
    overview = Table(["target", "what", "rows meeting it", "worst", "holds"],
                     [[s["target"], s["what"], f"{s['rows_met']} / {s['rows']}", s["worst"],
                       "yes" if s["holds"] else "**no**"] for s in summary],
                     caption="Targets (held only when every row meets them)", digits=digits)
    section = Section("On new inputs", text, tables=[overview, table])
    return section, {"rows": rows, "targets": summary, "all_met": all(s["holds"] for s in summary)}
