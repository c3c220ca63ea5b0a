import pytest

from common.lightning import Verb, main
from common.lightning.cli import is_override
from tests.toy_task.module import ToyConfig

PKG = "tests.toy_task"


def _verbs(seen):
    def align(cfg, args):
        seen.update(cfg=cfg, args=args)

    def add_arguments(parser):
        parser.add_argument("audio")
        parser.add_argument("--midi", required=True)

    return [Verb("align", "align audio to MIDI", align, add_arguments,
                 keys=(("ckpt=PATH", "the trained model to align with; default: this run's"),))]


def test_help_lists_verbs(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(PKG, ToyConfig, _verbs({}), ["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "align" in out and "config" in out and "key=value" in out


def test_help_shows_a_verbs_config_keys_and_plain_text_descriptions(capsys):
    with pytest.raises(SystemExit):
        main(PKG, ToyConfig, _verbs({}), ["--help"], description="``python -m toy align`` aligns")
    assert "python -m toy align aligns" in capsys.readouterr().out  # no reST markup in a terminal
    with pytest.raises(SystemExit):
        main(PKG, ToyConfig, _verbs({}), ["align", "--help"])
    out = capsys.readouterr().out
    assert "config keys this verb reads" in out and "ckpt=PATH\n      the trained model to align with" in out


def test_verb_gets_its_arguments_and_overrides():
    seen = {}
    code = main(PKG, ToyConfig, _verbs(seen), ["align", "x.wav", "--midi=y.mid", "model.lr=0.2",
                                               "--config", "paper"])
    assert code == 0
    assert seen["args"].audio == "x.wav" and seen["args"].midi == "y.mid"
    assert seen["cfg"].model.lr == 0.2 and seen["cfg"].data.batch_size == 32


def test_config_verb_prints_resolved_yaml(capsys):
    assert main(PKG, ToyConfig, [], ["config", "trainer.devices=3"]) == 0
    out = capsys.readouterr().out
    assert "devices: 3" in out and "ckpt_path: null" in out


def test_unknown_key_is_one_line_error(capsys):
    assert main(PKG, ToyConfig, [], ["config", "trainer.devicez=3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "trainer.devicez" in err and err.startswith("error:")


def test_override_detection():
    assert is_override("trainer.devices=2") and is_override("ckpt_path=last")
    assert is_override("data.root=/data/a=b")  # the value may contain "="
    assert not is_override("--midi=y.mid") and not is_override("x.wav")
    assert not is_override("a/b=c.wav")


def test_threads_key_sets_torch_threads_before_the_verb():
    import torch

    previous, seen = torch.get_num_threads(), {}
    verbs = [Verb("probe", "record torch's threads", lambda cfg, args: seen.update(threads=torch.get_num_threads()))]
    try:
        target = 1 if previous != 1 else 2
        assert main(PKG, ToyConfig, verbs, ["probe", f"threads={target}"]) == 0
        assert seen["threads"] == target
        torch.set_num_threads(previous)
        assert main(PKG, ToyConfig, verbs, ["probe"]) == 0  # threads=0 leaves torch's setting alone
        assert seen["threads"] == previous
    finally:
        torch.set_num_threads(previous)
