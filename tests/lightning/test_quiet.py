"""What a user of `train` does not see: library notices they cannot act on."""

import warnings

from pytorch_lightning.loggers import WandbLogger

from common.lightning import load_config
from common.lightning.trainer import build_loggers
from common.lightning.verbosity import configure_logging
from tests.toy_task.module import ToyConfig

PKG = "tests.toy_task"


def test_the_manual_optimization_checkpoint_notice_is_hidden_unless_debug():
    notice = ("Using ModelCheckpoint with manual optimization and every_n_train_steps, but no pre-optimization "
              "state was saved.")
    for level, shown in (("warning", 0), ("debug", 1)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            configure_logging(level)
            warnings.warn(notice, UserWarning, stacklevel=1)
        assert len(caught) == shown, level


def test_wandb_is_not_asked_about_anonymous_logging(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    cfg = load_config(ToyConfig, PKG, "default", ["logger.wandb=true"])
    wandb = [logger for logger in build_loggers(cfg, tmp_path) if isinstance(logger, WandbLogger)]
    assert len(wandb) == 1 and "anonymous" not in wandb[0]._wandb_init
