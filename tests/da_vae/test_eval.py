"""`python -m da_vae eval` end to end on the tiny corpora (slow: trains eleven small models): the report
has the three tables with the paper's numbers beside ours, the JSON agrees with it, and Figure 4 is drawn."""

import json

import pytest

from da_vae.evaluate import PAPER_TABLE2, PAPER_TABLE3


@pytest.mark.slow
def test_eval_writes_the_three_tables_beside_the_papers(tiny):
    assert tiny.run("eval", "trainer.max_steps=30", "eval.max_clips=2", "eval.pitch_steps=[-1,0,1]",
                    "eval.stretch_rates=[0.9,1.1]", "eval.midi_latent_dims=[32,12]", "run.name=eval") == 0
    out = tiny.root / "reports"
    readme = (out / "README.md").read_text()
    results = json.loads((out / "results.json").read_text())
    for heading in ("Table 2", "Figure 4", "Table 3", "orderings hold"):
        assert heading in readme
    assert (out / "figure4.png").stat().st_size > 10_000
    table2 = results["results"]["midi"]["median_e"]
    assert set(table2) == {"Proposed (L = 32)", "Proposed (L = 12)", "Chroma", "Spec"}
    assert f"| Proposed (L = 12) | {table2['Proposed (L = 12)']:.2f} | {PAPER_TABLE2['Proposed (L = 12)']:.2f} |" \
        in readme
    assert f"| Spec | {table2['Spec']:.2f} | {PAPER_TABLE2['Spec']:.2f} |" in readme
    figure = results["results"]["singing"]
    assert figure["stretches"] == ["0.9", "1.1", "non-linear"] and len(figure["median_e"]) == 2 * 2 * 3 * 3
    table3 = results["results"]["separation"]["scores"]
    assert set(table3) == set(PAPER_TABLE3)
    for name, scores in table3.items():
        assert set(scores) == {"SDR", "SIR", "SAR", "NSDR", "energy"}
        assert f"| {name} | {scores['SDR']:.2f} | {PAPER_TABLE3[name]['SDR']:.2f} |" in readme
    assert len(results["orderings"]) == 2 + 2 + 3  # no "L = 128 < L = 12" check without L = 128
