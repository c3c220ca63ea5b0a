import json
from pathlib import Path

from common import eval_all

REPO = Path(__file__).resolve().parents[1]


def test_unbuilt_papers_are_listed_as_missing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(eval_all, "PAPERS", (eval_all.Paper("no_such_paper", "Nothing yet", "eval-x"),))
    assert eval_all.main([]) == 0
    index = (tmp_path / "reports" / "README.md").read_text()
    assert "| Nothing yet | missing: not built yet |  |  | – |" in index
    assert "missing: not built yet" in (tmp_path / "reports" / "index.html").read_text()


def test_built_paper_runs_and_is_linked_failures_fail(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    toy = eval_all.Paper("tests.toy_task", "Toy", "eval-toy")
    monkeypatch.setattr(eval_all, "PAPERS", (toy,))
    assert eval_all.main([]) == 0
    assert "least squares" in (tmp_path / "reports" / "tests.toy_task" / "README.md").read_text()
    index = (tmp_path / "reports" / "README.md").read_text()
    assert "| [Toy](tests.toy_task/README.md) | ok | val MSE, least squares:" in index
    assert 'href="tests.toy_task/index.html"' in (tmp_path / "reports" / "index.html").read_text()
    status = json.loads((tmp_path / "reports" / "status.json").read_text())["tests.toy_task"]
    assert status["status"] == "ok" and status["seconds"] > 0
    default_report = (tmp_path / "reports" / "tests.toy_task" / "README.md").read_text()
    assert eval_all.main(["--config", "paper"]) == 0  # another preset: its own reports and site
    assert "| [Toy](tests.toy_task/README.md) | ok |" in (tmp_path / "reports" / "paper" / "README.md").read_text()
    assert (tmp_path / "reports" / "paper" / "tests.toy_task" / "README.md").is_file()
    assert (tmp_path / "reports" / "tests.toy_task" / "README.md").read_text() == default_report
    assert eval_all.main(["model.nope=1"]) == 1  # the toy's eval rejects the unknown key
    index = (tmp_path / "reports" / "README.md").read_text()
    assert "| Toy | failed (exit 2) |" in index  # the earlier report is no longer linked as current
