"""A toy paper's report, built once per session through the toy task's `eval` verb (the CLI's main, in process)."""

import os
from pathlib import Path

import pytest

from common.lightning.cli import main as cli_main
from common.report import PAPERS, Paper, write_site
from tests.toy_task.__main__ import VERBS
from tests.toy_task.module import ToyConfig

REPO = Path(__file__).resolve().parents[2]
TOY = Paper("tests.toy_task", "Toy task (tests)", "eval-toy")


@pytest.fixture(scope="session")
def toy_reports(tmp_path_factory) -> Path:
    """``reports/`` holding the toy's page and a site index that lists it beside the five papers."""
    root = tmp_path_factory.mktemp("site")
    here = Path.cwd()
    os.chdir(root)  # the toy's eval writes to ./reports, as every paper's does
    try:
        assert cli_main("tests.toy_task", ToyConfig, VERBS, ["eval"]) == 0
    finally:
        os.chdir(here)
    write_site(root / "reports", papers=(TOY, *PAPERS))
    return root / "reports"
