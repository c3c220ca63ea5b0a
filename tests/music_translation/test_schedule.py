"""The learning-rate schedule is the same on any world size and stays sane to the paper preset's last step."""

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from common.lightning import load_config
from music_translation.config import MusicTranslationConfig
from music_translation.module import TranslationModule, lr_at

REPO = Path(__file__).resolve().parents[2]
TINY_MODEL = dict(encoder_blocks=1, encoder_layers=2, encoder_channels=4, latent_channels=4, pool=10,
                  decoder_blocks=1, decoder_layers=2, residual_channels=4, skip_channels=4, confusion_channels=4)


def module_at(preset: str, step: int, world: int) -> tuple[TranslationModule, dict]:
    cfg = load_config(MusicTranslationConfig, "music_translation", preset, [])
    optim = {k: v for k, v in dict(cfg.optim).items()}
    model = {**dict(cfg.model), **TINY_MODEL}
    module = TranslationModule(model=model, domains=["a", "b"], sample_rate=16000, optim=optim,
                               augment=dict(cfg.augment))
    module.trainer = SimpleNamespace(world_size=world)
    module._batch_size = cfg.data.batch_size  # noqa: SLF001 (what a training step would have seen)
    module.batches_done.fill_(step)
    return module, cfg


@pytest.mark.parametrize("world", [1, 8, 16])
def test_paper_rate_at_the_last_step_is_sane_on_any_world_size(world):
    """At the paper preset's last step the rate is 0.98^50 of 1e-3 (3.6e-4): inside [0.05, 1] x lr on 1, 8 and
    16 ranks alike (counting segments over all ranks gave 1e-10 on one GPU and 0 on eight)."""
    module, cfg = module_at("paper", 0, world)
    last = cfg.trainer.max_steps
    module.batches_done.fill_(last)
    rate = module.current_lr()
    assert 0.05 * cfg.optim.lr <= rate <= cfg.optim.lr, rate
    assert rate == pytest.approx(cfg.optim.lr * cfg.optim.lr_decay ** (last // cfg.optim.decay_every_steps))
    one, _ = module_at("paper", last, 1)
    assert rate == one.current_lr()


def test_lr_decay_and_period_change_the_rate():
    optim = dict(lr=1e-3, lr_decay=0.5, decay_every_steps=10)
    assert lr_at(optim, 9) == 1e-3 and lr_at(optim, 10) == 5e-4 and lr_at(optim, 25) == 2.5e-4
    assert lr_at({**optim, "lr_decay": 1.0}, 25) == 1e-3
    assert lr_at({**optim, "decay_every_steps": 5}, 25) == 1e-3 / 32


def test_the_docs_curve_is_the_schedule():
    """docs/music_translation.md prints the paper preset's rate at steps 0..500k: those numbers are lr_at's."""
    cfg = load_config(MusicTranslationConfig, "music_translation", "paper", [])
    text = (REPO / "docs/music_translation.md").read_text()
    rows = re.findall(r"^\| ([\d,]+) \| ([\d.e+-]+) \|", text, re.M)
    assert len(rows) >= 6
    for step, rate in rows:
        assert float(rate) == pytest.approx(lr_at(dict(cfg.optim), int(step.replace(",", ""))), rel=2e-3)
