import json
import os
import sys
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


def test_the_papers_after_the_first_are_prepared_ahead_at_the_lowest_priority(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    toy = eval_all.Paper("tests.toy_task", "Toy", "eval-toy")
    commands = eval_all.prepare_commands([toy], "default", ["run.name=ahead"])
    assert commands == [[sys.executable, "-m", "tests.toy_task", "prepare", "--config", "default", "run.name=ahead"]]
    ahead = eval_all.PrepareAhead(commands, tmp_path / "reports" / "ahead.log")
    ahead.wait()
    assert (tmp_path / "toy-prepared.txt").read_text() == f"ahead nice={min(19, os.nice(0) + 19)}\n"
    assert "run.name=ahead`: exit 0" in (tmp_path / "reports" / "ahead.log").read_text()
    (tmp_path / "toy-prepared.txt").unlink()
    monkeypatch.setattr(eval_all, "PAPERS", (toy,))
    assert eval_all.main([]) == 0
    assert not (tmp_path / "toy-prepared.txt").exists()  # the first paper's eval prepares for itself


def test_killing_the_prepare_ahead_ends_its_process_and_skips_the_rest(tmp_path):
    import time

    ahead = eval_all.PrepareAhead([["sleep", "60"], ["touch", str(tmp_path / "ran")]], tmp_path / "ahead.log")
    deadline = time.monotonic() + 30
    while ahead.process is None and time.monotonic() < deadline:
        time.sleep(0.05)
    ahead.kill()
    assert ahead.process.poll() == -9 and not (tmp_path / "ran").exists()  # killed, not waited for
    assert "touch" not in (tmp_path / "ahead.log").read_text()
