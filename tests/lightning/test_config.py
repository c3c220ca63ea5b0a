import pytest
from omegaconf.errors import ConfigAttributeError

from common.errors import ConfigError
from common.lightning import load_config, trainer_kwargs
from tests.toy_task.module import ToyConfig

PKG = "tests.toy_task"


def test_preset_and_overrides_are_typed():
    cfg = load_config(ToyConfig, PKG, "default", ["trainer.devices=2", "model.lr=0.5", "ckpt_path=last"])
    assert cfg.trainer.devices == 2 and isinstance(cfg.trainer.devices, int)
    assert cfg.model.lr == 0.5
    assert cfg.trainer.max_steps == 40  # from the preset
    assert cfg.ckpt_path == "last"


def test_extends_inherits_from_the_base_preset():
    cfg = load_config(ToyConfig, PKG, "paper")
    assert cfg.model.lr == 0.01 and cfg.data.batch_size == 32  # changed by paper.yaml
    assert cfg.trainer.checkpoint_every_n_steps == 10  # inherited from default.yaml


def test_unknown_override_key_names_the_key():
    with pytest.raises(ConfigError, match=r"unknown config key 'trainer\.devicez'.*override"):
        load_config(ToyConfig, PKG, "default", ["trainer.devicez=2"])


def test_unknown_key_in_yaml_names_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  learning_rate: 0.1\n")
    with pytest.raises(ConfigError, match=r"unknown config key 'model\.learning_rate'.*bad\.yaml"):
        load_config(ToyConfig, PKG, str(bad))


def test_bad_type_names_the_key():
    with pytest.raises(ConfigError, match=r"bad value for config key 'trainer\.devices'"):
        load_config(ToyConfig, PKG, "default", ["trainer.devices=two"])


def test_malformed_override_and_unknown_preset():
    with pytest.raises(ConfigError, match="key=value"):
        load_config(ToyConfig, PKG, "default", ["=3"])
    with pytest.raises(ConfigError, match=r"unknown config preset 'nope'.*\['default', 'paper'\]"):
        load_config(ToyConfig, PKG, "nope")


def test_config_is_struct_after_loading():
    cfg = load_config(ToyConfig, PKG)
    with pytest.raises(ConfigAttributeError):
        cfg.trainer.not_a_key = 1


def test_ddp_strategy_follows_devices_and_accelerator():
    gpu8 = trainer_kwargs(load_config(ToyConfig, PKG, "default", ["trainer.accelerator=gpu",
                                                                  "trainer.devices=8"]).trainer)
    assert gpu8["devices"] == 8 and gpu8["accelerator"] == "gpu"
    assert type(gpu8["strategy"]).__name__ == "DDPStrategy"
    assert gpu8["strategy"]._process_group_backend == "nccl"
    cpu2 = trainer_kwargs(load_config(ToyConfig, PKG, "default", ["trainer.devices=2"]).trainer)
    assert cpu2["strategy"]._process_group_backend == "gloo"
    nodes = trainer_kwargs(load_config(ToyConfig, PKG, "default", ["trainer.accelerator=gpu",
                                                                   "trainer.num_nodes=4"]).trainer)
    assert nodes["num_nodes"] == 4 and type(nodes["strategy"]).__name__ == "DDPStrategy"
    single = trainer_kwargs(load_config(ToyConfig, PKG).trainer)
    assert single["strategy"] == "auto" and single["val_check_interval"] == 20
    with pytest.raises(ConfigError, match="trainer.accelerator='tpu'"):
        trainer_kwargs(load_config(ToyConfig, PKG, "default", ["trainer.accelerator=tpu"]).trainer)


@pytest.mark.parametrize("algorithm", ["norm", "value"])
def test_the_trainer_factory_applies_every_optimisation_key(tmp_path, algorithm):
    from common.lightning import build_trainer

    cfg = load_config(ToyConfig, "tests.toy_task", "default",
                      ["trainer.gradient_clip_val=0.5", f"trainer.gradient_clip_algorithm={algorithm}",
                       "trainer.accumulate_grad_batches=3", "trainer.max_steps=7", "logger.wandb=false",
                       "trainer.accelerator=cpu"])
    trainer = build_trainer(cfg, tmp_path)
    assert trainer.gradient_clip_val == 0.5 and trainer.gradient_clip_algorithm == algorithm
    assert trainer.accumulate_grad_batches == 3 and trainer.max_steps == 7
