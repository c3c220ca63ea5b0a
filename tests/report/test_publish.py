"""`make readme-results`: the README's numbers are copied from results.json, never typed."""

import json

import pytest

from common.errors import InputError
from common.report import publish


def write_result(reports, package, held, targets, seconds=120.0, commit="abc1234"):
    folder = reports / package
    (folder / "figures").mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text("# report\n")
    (folder / "figures" / "f.png").write_bytes(b"png")
    (folder / "examples").mkdir(exist_ok=True)
    (folder / "examples" / "a.wav").write_bytes(b"RIFF")
    claims = [{"claim": f"c{i}", "holds": i < held, "evidence": ""} for i in range(3)]
    new_inputs = {"targets": [{"holds": i < targets} for i in range(4)]}
    (folder / "results.json").write_text(json.dumps({
        "package": package, "seconds": seconds, "date": "2026-12-05", "machine": "CPU X, 2 cores", "commit": commit,
        "headline": [{"name": "NCC", "ours": "0.51", "paper": "0.84"}], "claims": claims,
        "results": {"new_inputs": new_inputs}}))


def test_readme_block_is_written_from_the_published_results(tmp_path):
    reports, docs, readme = tmp_path / "reports", tmp_path / "docs", tmp_path / "README.md"
    write_result(reports, "music_translation", held=2, targets=3)
    readme.write_text(f"# title\n\n{publish.BEGIN}\nold numbers\n{publish.END}\n\nmore text\n")
    assert publish.main(["--reports", str(reports), "--docs", str(docs), "--readme", str(readme)]) == 0
    copied = docs / "default" / "music_translation"
    assert (copied / "figures" / "f.png").is_file() and not (copied / "examples").exists()
    text = readme.read_text()
    assert "old numbers" not in text and text.endswith("more text\n")
    assert "| NCC: 0.51 / 0.84 | 2 of 3 | 3 of 4 | 2.0 min |" in text
    assert "Computed on 2026-12-05 on CPU X, 2 cores, from commit abc1234." in text
    assert "| da_vae | not published |" in text and "in all" not in text  # a total only over all five
    from common.report.site import PAPERS
    for paper in [p for p in PAPERS if p.package != "music_translation"]:
        write_result(reports, paper.package, held=1, targets=1, seconds=570.0)
    assert publish.main(["--reports", str(reports), "--docs", str(docs), "--readme", str(readme)]) == 0
    assert "The five evals took 40.0 min of wall time in all: within the 45-minute budget" in readme.read_text()
    for paper in PAPERS:
        write_result(reports, paper.package, held=1, targets=1, seconds=546.0)
    assert publish.main(["--reports", str(reports), "--docs", str(docs), "--readme", str(readme)]) == 0
    assert "The five evals took 45.5 min of wall time in all: over the 45-minute budget" in readme.read_text()
    write_result(reports, "gmvae_timbre", held=1, targets=1, seconds=100.0, commit="def5678")  # a re-run of one
    assert publish.main(["--reports", str(reports), "--docs", str(docs), "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert "from commit abc1234, def5678. These reports come from more than one run" in text
    assert "in all" not in text


def test_publish_refuses_an_empty_reports_folder_and_a_readme_without_markers(tmp_path):
    with pytest.raises(InputError, match="no paper report found"):
        publish.publish(tmp_path / "reports", tmp_path / "docs")
    readme = tmp_path / "README.md"
    readme.write_text("# no block\n")
    with pytest.raises(InputError, match="has no block"):
        publish.update_readme(readme, "x")


def test_plan_block_is_written_from_the_plan_files(tmp_path):
    folder, readme = tmp_path / "plan", tmp_path / "README.md"
    folder.mkdir()
    (folder / "realtime_ae.json").write_text(json.dumps({
        "world": 8, "gpu": "A100", "params": 2_500_000, "paper_params": {"total": 2_400_000},
        "flops_per_step": 3.2e12, "activation_gb": 1.5, "state_gb": 0.04, "allreduce_mb": 17.5,
        "max_steps": 120_000, "hours": 2.25, "loader_workers_needed": 3, "assumptions": "A100 at MFU 0.25"}))
    readme.write_text(f"# t\n{publish.PLAN_BEGIN}\nold\n{publish.PLAN_END}\n")
    assert publish.main(["--plan", str(folder), "--readme", str(readme)]) == 0
    text = readme.read_text()
    row = "| realtime_ae | 8 x A100 | 2.5 M (total 2.4 M) | 3.2 TFLOP | 1.54 GB | 17.5 MB | 120,000 | 2.2 h | 3 |"
    assert row in text
    assert "| da_vae | not measured |" in text and "Assumptions: A100 at MFU 0.25." in text and "old" not in text
