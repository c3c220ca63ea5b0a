"""Every preset shipped by every built paper package loads through its own CLI (`config` verb)."""

import importlib.resources
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from common.eval_all import PAPERS, is_built

REPO = Path(__file__).resolve().parents[1]
PRESETS = [(paper.package, path.stem) for paper in PAPERS if is_built(paper.package)
           for path in sorted(Path(str(importlib.resources.files(paper.package) / "configs")).glob("*.yaml"))]


@pytest.mark.parametrize(("package", "preset"), PRESETS)
def test_preset_loads_with_every_key_typed(package, preset):
    result = subprocess.run([sys.executable, "-m", package, "config", "--config", preset], cwd=REPO,
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr[-2000:]
    cfg = yaml.safe_load(result.stdout)
    assert {"run", "trainer", "logger", "ckpt_path"} <= set(cfg)
    assert cfg["logger"]["wandb"] is True, f"{package} preset {preset}: `train` must log to W&B (offline by default)"
    # each preset writes its own report, where `make eval-all CONFIG=<preset>` puts its site
    assert cfg["eval"]["out"] == (f"reports/{package}" if preset == "default" else f"reports/{preset}/{package}")


def test_every_built_paper_ships_default_and_paper_presets():
    built = {package for package, _ in PRESETS}
    for package in built:
        assert {(package, "default"), (package, "paper")} <= set(PRESETS)
    assert "da_vae" in built


@pytest.mark.parametrize("package", sorted({package for package, _ in PRESETS}))
def test_help_of_the_cli_and_of_every_verb_prints(package, capsys):
    """`python -m <package> --help` and `<verb> --help` for every verb (argparse formats each help string)."""
    import importlib

    from common.lightning.cli import build_parser

    verbs = importlib.import_module(f"{package}.__main__").VERBS
    parser = build_parser(package, verbs)
    for argv in (["--help"], *([verb.name, "--help"] for verb in verbs)):
        with pytest.raises(SystemExit) as exit_info:
            parser.parse_args(argv)
        assert exit_info.value.code == 0, argv
    assert "config" in capsys.readouterr().out

