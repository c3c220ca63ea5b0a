"""An evaluation reuses a trained run only if it was trained with the config it is asked for."""

import pytest
from omegaconf import OmegaConf

from common.errors import ConfigError
from common.lightning import check_reusable
from common.lightning.reuse import changed_keys

TRAINED = {"run": {"seed": 0, "name": "a"}, "model": {"pool": 200, "layers": [4, 4]}, "optim": {"lr": 0.005},
           "trainer": {"max_steps": 700, "log_every_n_steps": 25, "gradient_clip_val": None}, "eval": {"segments": 20}}


def config(**changes):
    cfg = OmegaConf.create(TRAINED)
    for key, value in changes.items():
        OmegaConf.update(cfg, key.replace("__", "."), value)
    return cfg


def test_only_training_keys_count():
    assert changed_keys(config(), config(eval__segments=5, trainer__log_every_n_steps=1, run__name="b")) == []
    assert changed_keys(config(), config(model__pool=100)) == [("model.pool", 200, 100)]
    assert changed_keys(config(), config(model__layers=[4, 2])) == [("model.layers", [4, 4], [4, 2])]
    assert [k for k, *_ in changed_keys(config(), config(run__seed=1, trainer__max_steps=10))] == [
        "run.seed", "trainer.max_steps"]
    assert changed_keys(config(), config(trainer__gradient_clip_val=1.0)) == [("trainer.gradient_clip_val", None, 1.0)]


def test_ignored_leaves_do_not_count():
    changed = config(model__pool=100, model__layers=[1])
    assert [k for k, *_ in changed_keys(config(), changed, ("model",), ignore=("model.pool",))] == ["model.layers"]
    assert changed_keys(config(), changed, ("model",), ignore=("model",)) == []
    assert len(changed_keys(config(), changed, ("model",), ignore=("model.po",))) == 2  # whole names only


def test_a_key_the_saved_config_predates_is_not_counted():
    assert changed_keys(config(), config(model__new_switch=True)) == []


def test_check_reusable_names_the_key_and_the_fix(tmp_path):
    OmegaConf.save(config(), tmp_path / "config.yaml")
    check_reusable(tmp_path, config(eval__segments=3))
    with pytest.raises(ConfigError) as err:
        check_reusable(tmp_path, config(model__pool=100, optim__lr=0.1))
    message = str(err.value)
    assert "model.pool=200, this config has 100 (and 1 more key(s))" in message and "run.name=" in message
    assert "\n" not in message
    check_reusable(tmp_path / "no-config-here", config(model__pool=100))  # a run trained elsewhere
