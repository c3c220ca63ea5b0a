"""``python -m realtime_ae eval`` end to end on the tiny corpus: every table, claims, figures, examples."""

import json

import pytest


@pytest.fixture(scope="module")
def report(tiny):
    args = ["trainer.max_epochs=2", "model.hidden=[32,16]", "eval.seeds=[0,1,2]", "eval.mesh=[8,4,2]",
            "eval.workers=1", "run.name=evaltest"]
    assert tiny.run("eval", *args) == 0
    return tiny.root / "reports"


def test_eval_writes_every_table_with_the_papers_numbers(report):
    readme = (report / "README.md").read_text()
    for title in ("Table I", "Table II", "Table III", "Table IV", "Table V"):
        assert title in readme
    assert "3.185" in readme and "6.388" in readme and "0.896" in readme  # paper numbers beside ours
    results = json.loads((report / "results.json").read_text())
    mse = results["results"]["mse_x1e4"] if "results" in results else results["mse_x1e4"]
    assert len(mse) == 17 * 3 and all(v > 0 for v in mse.values())


def test_eval_decides_claims_and_saves_figures_and_examples(report):
    readme = (report / "README.md").read_text()
    assert readme.count("seeds") >= 4
    for name in ("figure2_one_octave.png", "figure3_violin.png", "figure4_one_octave_mesh.png",
                 "figure5_violin_mesh.png", "synth_window.png"):
        assert (report / name).is_file(), name
    assert len(list((report / "examples").glob("*.wav"))) >= 8
    assert (report / "decoder" / "decoder.onnx").is_file()
