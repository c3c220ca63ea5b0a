"""Every da_vae claim check can fail: a degenerate model (a constant feature, the mixture as the voice estimate, a
method compared with itself) and swapped orderings must read "does not hold", while a clear effect holds; each
row states the smallest effect its test can detect."""

import numpy as np
import pytest

from common.align import path_error, stretch_features
from common.report.stats import detectable_effect
from da_vae import claims, evaluate, inference, table3


def table2_result(e: dict[str, list[float]], domain: str = "held-out piano") -> dict:
    items = {str(k): {"e": {name: values[k] for name, values in e.items()}} for k in range(len(next(iter(e.values()))))}
    medians = {name: float(np.median(values)) for name, values in e.items()}
    return {"domains": {domain: {"items": items, "median_e": medians}}}


def verdicts(checks) -> dict[str, bool]:
    return {claim: ok for claim, ok, _ in checks}


CHROMA = [2.0, 2.1, 1.9, 2.2, 2.0, 2.4]
SPEC = [9.0, 9.5, 8.0, 9.9, 9.1, 8.7]


def test_table2_holds_for_a_clear_win_and_states_what_it_can_detect():
    e = {"Proposed (L = 128)": [c - 0.5 for c in CHROMA], "Proposed (L = 12)": [c - 0.3 for c in CHROMA],
         "Chroma": CHROMA, "Spec": SPEC}
    checks = claims.table2_claims(table2_result(e))
    assert all(ok for _, ok, _ in checks)
    text = dict((c, t) for c, _, t in checks)["Table 2, held-out piano: Chroma < Spec"]
    expected = detectable_effect(np.subtract(CHROMA, SPEC))
    assert f"paired over 6 items; detectable: {expected:.2f} frames" in text


def test_table2_does_not_hold_for_swapped_orderings_or_a_method_against_its_equal():
    e = {"Proposed (L = 128)": [c + 0.5 for c in CHROMA],  # worse than Chroma on every item
         "Proposed (L = 12)": list(CHROMA),  # Chroma itself
         "Proposed (L = 64)": [c + d for c, d in zip(CHROMA, [-0.6, 0.5, -0.6, 0.5, -0.6, 0.5])],  # lower mean, noise
         "Chroma": CHROMA, "Spec": [c - 1.0 for c in CHROMA]}  # Spec better than Chroma
    assert not any(verdicts(claims.table2_claims(table2_result(e))).values())


def test_table2_does_not_hold_for_a_constant_feature():
    """A 'Proposed' feature that is the same in every frame (a collapsed encoder) aligns along an arbitrary path;
    against a feature that follows the music (standing in for Chroma) it must not be called better, and the
    feature that follows the music must be called better than it."""
    rng = np.random.default_rng(0)
    e = {"Proposed (L = 12)": [], "Chroma": [], "Spec": []}
    for _ in range(6):
        music = rng.random((12, 150)) ** 4  # (dims, frames)
        stretched = stretch_features(music, rng.uniform(0.7, 1.3, size=4))
        constant = np.ones((music.shape[1], 4)), np.ones((stretched.output.shape[1], 4))
        e["Proposed (L = 12)"].append(path_error(inference.dtw_path(*constant), stretched.path))
        e["Chroma"].append(path_error(inference.dtw_path(music.T, stretched.output.T), stretched.path))
        e["Spec"].append(path_error(inference.dtw_path(music.T[:, :6], stretched.output.T[:, 6:]), stretched.path))
    assert max(e["Chroma"]) < 1.0 < min(e["Proposed (L = 12)"])
    holds = verdicts(claims.table2_claims(table2_result(e)))
    assert holds["Table 2, held-out piano: Proposed (L = 12) < Chroma"] is False
    assert holds["Table 2, held-out piano: Chroma < Spec"] is True


def figure4_result(proposed, mcep, intact=None) -> dict:
    """Two pitch steps x two rates, five clips; ``proposed``/``mcep``: {(pitch, stretch): e per clip} or one list
    for every condition; the intact voice (0, 1) gets ``intact`` for Proposed when given."""
    steps, stretches = ["0", "1"], ["1", "1.1"]
    errors = {}
    for sub in ("mono-to-mono", "mono-to-poly"):
        for p in steps:
            for s in stretches:
                ours = proposed.get((p, s), proposed.get("*")) if isinstance(proposed, dict) else proposed
                errors[f"{sub}|Proposed|{p}|{s}"] = intact if intact and (p, s) == ("0", "1") else ours
                errors[f"{sub}|MCEP|{p}|{s}"] = mcep
    return {"errors": errors, "pitch_steps": steps, "stretches": stretches}


MCEP = [1.0, 2.0, 3.0, 4.0, 5.0]


def test_figure4_holds_when_proposed_is_lower_and_leaves_out_the_intact_voice():
    result = figure4_result([e - 1 for e in MCEP], MCEP, intact=[9.0] * 5)
    checks = claims.figure4_claims(result, 0.25)
    assert [ok for _, ok, _ in checks] == [True, True]
    assert "decidedly lower in 3 of 3 conditions" in checks[0][2] and "detectable: 0.00 frames" in checks[0][2]


@pytest.mark.parametrize("case", ["identity", "swapped", "one condition worse", "one condition noisy",
                                  "constant feature"])
def test_figure4_does_not_hold_for_a_degenerate_proposed(case):
    proposed = {
        "identity": MCEP,  # Proposed is MCEP: never lower
        "swapped": [e + 1 for e in MCEP],  # the orderings swapped
        "one condition worse": {("1", "1.1"): [e + 0.5 for e in MCEP], "*": [e - 1 for e in MCEP]},
        # above MCEP by less than the tolerance on average, but too noisy to rule out more
        "one condition noisy": {("1", "1.1"): [e + d for e, d in zip(MCEP, [0.9, -0.7, 0.9, -0.7, 0.1])],
                                "*": [e - 1 for e in MCEP]},
        "constant feature": [30.0, 28.0, 35.0, 31.0, 29.0],  # a collapsed encoder aligns along an arbitrary path
    }[case]
    checks = claims.figure4_claims(figure4_result(proposed, MCEP), 0.25)
    assert [ok for _, ok, _ in checks] == [False, False], checks
    if case == "one condition worse":
        assert "worst: pitch 1, stretch 1.1: 0.50 [0.50, 0.50] frames over 5 clips" in checks[0][2]


def table3_result(sdr: dict[str, np.ndarray], seeds=(0, 1)) -> dict:
    per_clip = {}
    for seed in seeds:
        for name, key in table3.table_models(seed, "magnitude", 1.0).items():
            values = np.asarray(sdr[name], dtype=float) + 0.05 * seed
            per_clip[key] = {"SDR": values, "SIR": values, "SAR": values, "NSDR": values - 1.0,
                             "energy": np.ones(len(values))}
    return table3.summarise(per_clip, list(seeds), ["magnitude"], [1.0], 1.0)


BASE = np.array([0.0, 6.0, -4.0, 9.0, 2.0, 12.0])  # per-clip SDR: clips differ far more than models


def test_table3_holds_for_the_papers_orderings():
    result = table3_result({"DAE": BASE, "DAE + wt": BASE + 1, "rDAE": BASE + 0.5, "rDAE + wt": BASE + 2})
    checks = table3.claims(result)
    assert all(ok for _, ok, _ in checks) and len(checks) == 3
    assert all("detectable: 0.00 dB" in text for _, _, text in checks)


@pytest.mark.parametrize("case", ["identity separators", "swapped", "equal but noisy"])
def test_table3_does_not_hold_for_degenerate_separators(case):
    jitter = np.array([0.5, -0.5, 0.5, -0.5, 0.5, -0.5])
    sdr = {
        # every model returns the mixture: the same SDR on every clip
        "identity separators": {name: BASE for name in table3.VARIANTS},
        "swapped": {"DAE": BASE + 2, "DAE + wt": BASE + 1, "rDAE": BASE + 1.5, "rDAE + wt": BASE},
        "equal but noisy": {"DAE": BASE, "DAE + wt": BASE + jitter, "rDAE": BASE - jitter,
                            "rDAE + wt": BASE + jitter},
    }[case]
    checks = table3.claims(table3_result(sdr))
    assert [ok for _, ok, _ in checks] == [False, False, False], checks
    if case == "equal but noisy":
        assert all(f"detectable: {detectable_effect(jitter):.2f} dB" in text
                   for claim, _, text in checks if "DAE + wt > DAE" in claim)


def test_the_report_counts_each_claim_once():
    """orderings() gathers every claim of the three experiments, each as (claim, holds, evidence)."""
    e = {"Proposed (L = 12)": CHROMA, "Chroma": CHROMA, "Spec": SPEC}
    results = {"midi": table2_result(e), "singing": figure4_result(MCEP, MCEP),
               "separation": table3_result({name: BASE for name in table3.VARIANTS})}
    checks = evaluate.orderings(results)
    assert len(checks) == 2 + 2 + 3 and len({c for c, _, _ in checks}) == len(checks)
    assert verdicts(checks) == {claim: claim == "Table 2, held-out piano: Chroma < Spec" for claim, _, _ in checks}
