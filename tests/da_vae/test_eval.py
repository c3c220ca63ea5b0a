"""`python -m da_vae eval` end to end on the tiny corpora (sixteen small models, 30 steps each): the report
has the three tables with the paper's numbers beside ours, the JSON agrees with it, and Figure 4 is drawn."""

import json

import numpy as np
import pytest
import torch

from common.report.stats import format_ci
from da_vae.evaluate import PAPER_TABLE2, PAPER_TABLE3


def test_eval_writes_the_three_tables_beside_the_papers(tiny):
    assert tiny.run("eval", "trainer.max_steps=30", "eval.max_clips=2", "eval.pitch_steps=[-1,0,1]",
                    "eval.stretch_rates=[0.9,1.1]", "eval.midi_latent_dims=[32,12]", "eval.seeds=[0,1]",
                    "eval.separation_alphas=[0,0.1,1]", "eval.separation_steps=20",
                    "eval.separation_outputs=[magnitude,mask]",  # the default has the paper's magnitude DAE only
                    "eval.workers=0", "eval.midi_augment=true",  # in this process: no worker start-up
                    "eval.new_inputs_pieces=[1]", "run.name=eval") == 0
    out = tiny.root / "reports"
    readme = (out / "README.md").read_text()
    results = json.loads((out / "results.json").read_text())
    for heading in ("Table 2", "Figure 4", "Table 3", "claims checked hold"):
        assert heading in readme
    assert "<audio controls" in (out / "index.html").read_text()
    rows = sorted(p.name for p in (out / "examples").glob("00-*.wav"))  # mixture, one estimate per model, voice
    assert len(rows) == 2 + 2 * len(PAPER_TABLE3) and any(r.endswith("-mixture.wav") for r in rows)
    assert (out / "figure4.png").stat().st_size > 10_000
    midi, cfg = results["results"]["midi"], tiny.config()
    assert list(midi["domains"]) == ["in-domain", "held-out piano"]
    for domain, table2 in midi["domains"].items():
        assert set(table2["median_e"]) == {"Proposed (L = 32)", "Proposed (L = 12)", "Proposed (L = 32) + augment",
                                           "Chroma", "Spec"}
        pianos = {item["piano"] for item in table2["items"].values()}
        assert pianos == ({cfg.data.heldout_instrument} if domain == "held-out piano" else set(cfg.data.instruments))
        item = next(iter(table2["items"].values()))
        per_seed = item["e_per_seed"]["Proposed (L = 12)"]
        assert set(per_seed) == {"0", "1"}
        assert item["e"]["Proposed (L = 12)"] == pytest.approx(sum(per_seed.values()) / 2)
        mean, low, high = table2["mean_e"]["Spec"]
        assert low <= mean <= high
        median = table2["median_e"]["Spec"]
        assert f"| Spec | {median:.2f} | {format_ci(mean, low, high)} | – | {PAPER_TABLE2['Spec']:.2f} |" in readme
        seeds = ", ".join(f"{v:.2f}" for v in table2["median_e_per_seed"]["Proposed (L = 12)"])
        assert f"| Proposed (L = 12) | {table2['median_e']['Proposed (L = 12)']:.2f} |" in readme and seeds in readme
    assert (tiny.root / "runs/da_vae/eval/midi-L32-encoder-wt-aug-seed1/checkpoints/last.ckpt").is_file()
    new = results["results"]["new_inputs"]  # every seed under both thread settings, each in its own run
    assert sorted((r["seed"], r["threads"], r["piece"]) for r in new["rows"]) == [(0, 1, 1), (0, 2, 1), (1, 1, 1),
                                                                                 (1, 2, 1)]
    assert [t["target"] for t in new["targets"]] == ["e <= 2", "onset_ms <= 50"] and "On new inputs" in readme
    assert (tiny.root / "runs/da_vae/eval-threads2/midi-L32-encoder-wt-seed1/checkpoints/last.ckpt").is_file()
    figure = results["results"]["singing"]
    assert figure["stretches"] == ["0.9", "1.1", "non-linear"] and len(figure["median_e"]) == 2 * 2 * 3 * 3
    assert figure["seeds"] == [0, 1] and figure["clips"] == 2  # Figure 4 over the seeds too
    key = "mono-to-poly|1|non-linear"
    per_seed = figure["errors_per_seed"][key]
    assert figure["errors"]["mono-to-poly|Proposed|1|non-linear"] == pytest.approx(
        [(a + b) / 2 for a, b in zip(per_seed["0"], per_seed["1"])])  # each clip's e: the mean over seeds
    assert "Proposed, seed 1" in readme and "over the 2 clips" in readme
    separation = results["results"]["separation"]
    assert separation["outputs"] == ["magnitude", "mask"] and separation["seeds"] == [0, 1]
    assert (tiny.root / "runs/da_vae/eval/separation-L32-rdae-mask-wt-seed1/checkpoints/last.ckpt").is_file()
    assert (tiny.root / "runs/da_vae/eval/separation-L32-rdae0.1-wt/checkpoints/last.ckpt").is_file()  # the sweep
    steps = {name: torch.load(tiny.root / f"runs/da_vae/eval/{name}/checkpoints/last.ckpt", map_location="cpu",
                              weights_only=False)["global_step"]
             for name in ("separation-L32-rdae-wt-seed1", "separation-L32-source", "midi-L32-encoder-wt")}
    assert separation["steps"] == 20 and steps == {"separation-L32-rdae-wt-seed1": 20, "separation-L32-source": 20,
                                                    "midi-L32-encoder-wt": 30}  # eval.separation_steps
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
    # Table 2: per domain 3 x "< Chroma", "Chroma < Spec" and "+ augment < without" (no "L = 128 < L = 12"
    # without L = 128); Figure 4: 2; Table 3: 6
    assert len(results["claims"]) == 2 * 5 + 2 + 6


def test_table3_verdicts_come_from_paired_per_clip_differences():
    """Clips differ far more from each other than the models do: the intervals of the means overlap, yet a
    model 1 dB better on every clip is decided better on the paired differences, and one that is better or
    worse at random is not."""
    from da_vae import table3

    base = np.array([0.0, 6.0, -4.0, 9.0, 2.0, 12.0])  # per-clip SDR of the DAE
    jitter = np.array([0.5, -0.5, 0.5, -0.5, 0.5, -0.5])
    offsets = {"DAE": 0.0, "DAE + wt": 1.0, "rDAE": jitter, "rDAE + wt": 2.0}
    per_clip = {}
    for seed in (0, 1):
        for name, key in table3.table_models(seed, "magnitude", 1.0).items():
            sdr = base + offsets[name] + 0.1 * seed
            nsdr = -1.0 + 0.1 * jitter if name == "rDAE" else sdr - 3.0  # rDAE: worse than the mixture
            per_clip[key] = {"SDR": sdr, "SIR": sdr, "SAR": sdr, "NSDR": nsdr, "energy": np.ones(6)}
    result = table3.summarise(per_clip, [0, 1], ["magnitude"], [1.0], 1.0)
    dae, dae_wt = (result["tables"]["magnitude"][n]["SDR"] for n in ("DAE", "DAE + wt"))
    assert dae_wt[1] < dae[2]  # unpaired, the intervals overlap
    assert dae_wt[0] == pytest.approx(dae[0] + 1.0)
    claims = {claim: (ok, evidence) for claim, ok, evidence in table3.claims(result)}
    assert claims["Table 3, `magnitude` DAE: DAE + wt > DAE in SDR"][0]
    assert "DAE + wt - DAE 1.00 [1.00, 1.00] dB over 6 clips (higher in 2 of 2 seeds; detectable: 0.00 dB)" in \
        claims["Table 3, `magnitude` DAE: DAE + wt > DAE in SDR"][1]
    assert claims["Table 3, `magnitude` DAE: rDAE + wt has the best SDR"][0]
    ok, evidence = claims["Table 3, `magnitude` DAE: rDAE > DAE in SDR"]
    assert not ok and "rDAE - DAE 0.00 [" in evidence
    assert evidence.endswith("but rDAE is worse than the mixture itself (NSDR interval below 0)")
    assert "worse than the mixture" not in claims["Table 3, `magnitude` DAE: DAE + wt > DAE in SDR"][1]
