"""`eval` end to end on the tiny corpus (two label fractions, one seed, short training): the report holds
Table 1 beside the paper's numbers, the verdicts, the figures and audio examples."""

import json


def test_eval_writes_the_report(tiny):
    assert tiny.run("eval", "eval.label_fractions=[0,100]", "eval.seeds=[0]", "trainer.max_steps=30",
                    "eval.cnn_max_steps=30", "eval.synthesis_draws=3", "eval.bootstrap=50", "eval.examples=1",
                    "eval.griffinlim_iters=4") == 0
    out = tiny.root / "reports"
    readme = (out / "README.md").read_text()
    assert "Table 1" in readme and "0.937" in readme  # the paper's M_GMVAE z_t instrument F1 at N = 0
    for figure in ("figure2_tsne.png", "figure3_synthesis.png", "transfer_posterior.png"):
        assert (out / figure).stat().st_size > 1000
    results = json.loads((out / "results.json").read_text())
    table = results["results"]["table1"]
    assert {"instrument|gmvae z_t|100", "pitch|vae z_p|0", "instrument|cnn|100", "pitch|cnn|100"} <= set(table)
    for mean, low, high in table.values():
        assert 0 <= low <= mean <= high <= 1
    claims = results["claims"]
    assert any("z_t beats z_p for instrument" in c["claim"] for c in claims)
    assert len(results["results"]["transfer"]["p_target"]) == 5
    assert list(out.glob("examples/*.wav"))
