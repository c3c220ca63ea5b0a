"""The `models` listing says where each default model is and whether it is there."""

from common.lightning.registry import DefaultModel, print_models


def test_print_models_marks_missing_models_and_fails(tmp_path, capsys):
    there = tmp_path / "a.ckpt"
    there.write_bytes(b"x")
    models = [DefaultModel("seed-0 model", there, "translate, encode", "make eval-translation"),
              DefaultModel("decoder", tmp_path / "d.onnx", "render", "make eval-realtime", also="synth.decoder=PATH")]
    assert print_models(models) == 1
    out = capsys.readouterr().out
    assert f"{there} (present)" in out and f"{tmp_path / 'd.onnx'} (missing: `make eval-realtime` makes it)" in out
    assert "another: ckpt=path/to/last.ckpt\n" in out
    assert "another: ckpt=path/to/last.ckpt, or synth.decoder=PATH" in out
    assert print_models(models[:1]) == 0
