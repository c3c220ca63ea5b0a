"""The paper's Table 2 and Figure 4 claims checked on our numbers (Table 3's are in ``da_vae.table3``).

Each check is decided on paired per-item differences with a 95% bootstrap interval (``paired_diff``) and states
the smallest effect it can detect at this budget (``detectable_effect``: 80% power at the 95% level, from the
spread of those differences), so a claim that "does not hold" can be read as "absent" or "too small to see".
"""

from __future__ import annotations

import numpy as np

from common.report.stats import detectable_effect, format_ci, paired_diff

AUGMENTED = " + augment"  # suffix of Table 2's method trained with data.augment (eval.midi_augment)


def lower(a, b, unit: str, over: str) -> tuple[bool, str]:
    """"a < b" on paired values: holds when the 95% interval of mean(a - b) lies below 0 -> (holds, evidence)."""
    mean, low, high, n = paired_diff(a, b)
    effect = detectable_effect(np.asarray(a, float) - np.asarray(b, float))
    return high < 0, f"{format_ci(mean, low, high)} {unit}, paired over {n} {over}; detectable: {effect:.2f} {unit}"


def _lower(result: dict, domain: str, a: str, b: str) -> tuple[str, bool, str]:
    """Claim "a < b" in e on ``domain``, decided on the paired per-item differences."""
    items = list(result["domains"][domain]["items"].values())
    holds, evidence = lower([i["e"][a] for i in items], [i["e"][b] for i in items], "frames", "items")
    medians = result["domains"][domain]["median_e"]
    return (f"Table 2, {domain}: {a} < {b}", holds,
            f"e({a}) - e({b}) = {evidence}; medians {medians[a]:.2f} vs {medians[b]:.2f}")


def table2_claims(result: dict) -> list[tuple[str, bool, str]]:
    """The paper's Table 2 orderings (Proposed < Chroma < Spec, L = 128 < L = 12) in each domain."""
    checks = []
    for domain, r in result["domains"].items():
        proposed = [n for n in r["median_e"] if n.startswith("Proposed")]
        checks += [_lower(result, domain, name, "Chroma") for name in proposed]
        checks.append(_lower(result, domain, "Chroma", "Spec"))
        if {"Proposed (L = 128)", "Proposed (L = 12)"} <= set(proposed):
            checks.append(_lower(result, domain, "Proposed (L = 128)", "Proposed (L = 12)"))
        for name in (n for n in proposed if n.endswith(AUGMENTED)):  # ours, not the paper's: does augmenting help?
            checks.append(_lower(result, domain, name, name.removesuffix(AUGMENTED)))
    return checks


def distorted(result: dict) -> list[str]:
    """``pitch|stretch`` of every distorted condition (all but pitch 0 at rate 1, the intact voice)."""
    return [f"{p}|{s}" for p in result["pitch_steps"] for s in result["stretches"] if (p, s) != ("0", "1")]


def figure4_claims(result: dict, tolerance: float) -> list[tuple[str, bool, str]]:
    """"Proposed below MCEP", per subtask, over the distorted conditions only (the intact voice, pitch 0 at rate 1,
    is left out). It holds when (1) each clip's e averaged over those conditions is lower with Proposed (95%
    upper bound of the paired per-clip difference below 0) and (2) in no condition is Proposed above MCEP by
    ``tolerance`` frames or more (95% upper bound of that condition's paired per-clip difference)."""
    checks = []
    for sub in ("mono-to-mono", "mono-to-poly"):
        cells = [tuple(cell.split("|")) for cell in distorted(result)]
        ours, theirs = ([result["errors"][f"{sub}|{name}|{p}|{s}"] for p, s in cells] for name in ("Proposed", "MCEP"))
        overall, evidence = lower(np.mean(ours, axis=0), np.mean(theirs, axis=0), "frames", "clips")
        diffs = {cell: paired_diff(a, b) for cell, a, b in zip(cells, ours, theirs)}
        decided = sum(d[2] < 0 for d in diffs.values())
        worse = [cell for cell, d in diffs.items() if d[2] >= tolerance]
        (p, s), d = max(diffs.items(), key=lambda item: item[1][2])
        evidence = (f"e(Proposed) - e(MCEP), each clip's mean over the {len(cells)} distorted conditions: {evidence}; "
                    f"decidedly lower in {decided} of {len(cells)} conditions; not above MCEP by {tolerance:g} frames "
                    f"or more (95% upper bound) in {len(cells) - len(worse)} of them; worst: pitch {p}, stretch {s}: "
                    f"{format_ci(*d[:3])} frames over {d[3]} clips")
        checks.append((f"Figure 4, {sub}: Proposed below MCEP under distortion (overall, and within {tolerance:g} "
                       "frames in every distorted condition)", overall and not worse, evidence))
    return checks
