"""`python -m da_vae eval` end to end on the tiny corpora (sixteen small models, 30 steps each): the report
has the three tables with the paper's numbers beside ours, the JSON agrees with it, and Figure 4 is drawn."""

import json

import pytest

from common.report.stats import format_ci
from da_vae.evaluate import PAPER_TABLE2, PAPER_TABLE3


def test_eval_writes_the_three_tables_beside_the_papers(tiny):
    assert tiny.run("eval", "trainer.max_steps=30", "eval.max_clips=2", "eval.pitch_steps=[-1,0,1]",
                    "eval.stretch_rates=[0.9,1.1]", "eval.midi_latent_dims=[32,12]", "eval.seeds=[0,1]",
                    "eval.separation_alphas=[0,0.1,1]", "eval.separation_steps=30",
                    "run.name=eval") == 0
    out = tiny.root / "reports"
    readme = (out / "README.md").read_text()
    results = json.loads((out / "results.json").read_text())
    for heading in ("Table 2", "Figure 4", "Table 3", "claims checked hold"):
        assert heading in readme
    assert "<audio controls" in (out / "index.html").read_text()
    rows = sorted(p.name for p in (out / "examples").glob("00-*.wav"))  # mixture, one estimate per model, voice
    assert len(rows) == 2 + 2 * len(PAPER_TABLE3) and any(r.endswith("-mixture.wav") for r in rows)
    assert (out / "figure4.png").stat().st_size > 10_000
    table2 = results["results"]["midi"]["median_e"]
    assert set(table2) == {"Proposed (L = 32)", "Proposed (L = 12)", "Chroma", "Spec"}
    assert f"| Proposed (L = 12) | {table2['Proposed (L = 12)']:.2f} | {PAPER_TABLE2['Proposed (L = 12)']:.2f} |" \
        in readme
    assert f"| Spec | {table2['Spec']:.2f} | {PAPER_TABLE2['Spec']:.2f} |" in readme
    figure = results["results"]["singing"]
    assert figure["stretches"] == ["0.9", "1.1", "non-linear"] and len(figure["median_e"]) == 2 * 2 * 3 * 3
    separation = results["results"]["separation"]
    assert separation["outputs"] == ["magnitude", "mask"] and separation["seeds"] == [0, 1]
    assert (tiny.root / "runs/da_vae/eval/separation-L32-rdae-mask-wt-seed1/checkpoints/last.ckpt").is_file()
    assert (tiny.root / "runs/da_vae/eval/separation-L32-rdae0.1-wt/checkpoints/last.ckpt").is_file()  # the sweep
    n = len(separation["clips"])
    for output in ("magnitude", "mask"):
        for name, cells in separation["tables"][output].items():
            assert set(cells) == {"SDR", "SIR", "SAR", "NSDR", "energy"}
            mean, low, high = cells["SDR"]
            assert low <= mean <= high
            key = f"seed 1|{output}|{'wt' if '+ wt' in name else 'random'}|alpha {1 if name.startswith('r') else 0}"
            assert len(separation["per_clip"][key]["SDR"]) == n
            seeds = separation["per_seed"][output][name]
            assert mean == pytest.approx(sum(seeds) / 2)  # the mean over clips of the mean over seeds
            row = f"| {name} | {format_ci(mean, low, high)} | {PAPER_TABLE3[name]['SDR']:.2f} |"
            assert row in readme and readme.split(row)[1].split("\n")[0].endswith(f"| {seeds[0]:.2f}, {seeds[1]:.2f} |")
    assert set(separation["sweep"]) == {"0", "0.1", "1"}
    seed0 = separation["per_clip"]["seed 0|magnitude|wt|alpha 1"]["SDR"]  # the sweep: "+wt", first seed
    assert separation["sweep"]["1"]["SDR"][0] == pytest.approx(sum(seed0) / n)
    claims = [c for c in results["claims"] if c["claim"].startswith("Table 3")]
    assert len(claims) == 2 * 3 and all(f"over {n} clips" in c["evidence"] for c in claims)
    assert len(results["claims"]) == 2 + 2 + 6  # no "L = 128 < L = 12" check without L = 128
