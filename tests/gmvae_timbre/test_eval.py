"""`eval` end to end on the tiny corpus (two label fractions, one seed under two thread settings, short
training): the report holds On new inputs per run, the judges, Table 1 beside the paper's numbers, the
verdicts, the figures and audio examples; the runs of the two thread settings never share a directory, and the
grid trains under the first one only."""

import json


def test_eval_writes_the_report(tiny):
    assert tiny.run("eval", "eval.label_fractions=[0,100]", "eval.seeds=[0]", "eval.threads=[1,2]",
                    "trainer.max_steps=30", "eval.grid=[trainer.max_steps=20]", "eval.cnn_max_steps=30",
                    "eval.synthesis_draws=3", "eval.bootstrap=50", "eval.examples=1", "eval.griffinlim_iters=4",
                    "eval.heldout_notes=1", "eval.heldout_targets=1",
                    "run.name=eval") == 0  # its own runs: the session's gmvae_checkpoint trains default/ differently
    out = tiny.root / "reports"
    readme = (out / "README.md").read_text()
    assert "Table 1" in readme and "0.937" in readme  # the paper's M_GMVAE z_t instrument F1 at N = 0
    assert "On new inputs" in readme and "reconstruction ceiling" in readme
    for figure in ("figure2_tsne.png", "figure3_synthesis.png", "transfer_posterior.png"):
        assert (out / figure).stat().st_size > 1000
    results = json.loads((out / "results.json").read_text())["results"]
    rows = results["new_inputs"]["rows"]
    assert [(r["seed"], r["threads"]) for r in rows] == [(0, 1), (0, 2)]
    assert all(0 <= r["synth pitch"] <= 1 and r["synth pairs"] > 10 for r in rows)
    table = results["table1"]
    assert {"instrument|gmvae z_t|100", "pitch|vae z_p|0", "instrument|cnn|100", "pitch|cnn|100"} <= set(table)
    for mean, low, high in table.values():
        assert 0 <= low <= mean <= high <= 1
    claims = json.loads((out / "results.json").read_text())["claims"]
    assert any("z_t beats z_p for instrument" in c["claim"] for c in claims)
    assert all("smallest detectable" in c["evidence"] or "N=" in c["evidence"] for c in claims)
    assert len(results["transfer"]["p_target"]) == 5
    assert list(out.glob("examples/*.wav"))
    runs = tiny.root / "runs" / "gmvae_timbre"
    assert {p.name for p in (runs / "eval").iterdir()} >= {"gmvae-N100-seed0-threads1", "gmvae-N100-seed0-threads2"}
    grid = runs / "eval-grid"  # the grid and the judges under the first thread setting, which judge both
    assert (grid / "vae-N0-seed0-threads1").is_dir() and not (grid / "vae-N0-seed0-threads2").exists()
    assert {"cnn-instrument-N100-seed0-threads1", "cnn-pitch-seed0-threads1"} <= {p.name for p in grid.iterdir()}
    assert not {"cnn-instrument-N100-seed0-threads2", "cnn-pitch-seed0-threads2"} & {p.name for p in grid.iterdir()}
    judges = results["judges"]
    assert sorted(judges) == ["0|1", "0|2"]
    for key in ("instrument judge, real notes", "pitch judge steps"):  # one pair of judges, whatever the threads
        assert judges["0|1"][key] == judges["0|2"][key]
