"""The `paper` preset at full size, on the CPU: two training steps and a validation under 2 gloo ranks, on six tiny
domains (the data shrunk, never the model)."""

import numpy as np
import pytest

from common.audio import save_audio
from common.lightning import load_config
from music_translation import inference, tones
from music_translation.config import MusicTranslationConfig
from tests.paper_scale.harness import check_ranks, dry_run

RATE = 16000


def six_domains(root, names):
    """A 3 s training file and a 5 s validation file of tone melodies per domain, at 16 kHz."""
    rng = np.random.default_rng(0)
    timbres = list(tones.TIMBRES.values())
    for i, name in enumerate(names):
        for split, seconds in (("train", 3.0), ("val", 5.0)):
            audio = tones.render(tones.melody(rng, seconds), timbres[i % len(timbres)], rng, RATE)
            save_audio(root / name / split / f"{name}.wav", audio, RATE)


@pytest.mark.slow
@pytest.mark.ddp
def test_paper_preset_dry_run_on_two_ranks(tmp_path):
    cfg = load_config(MusicTranslationConfig, "music_translation", "paper", [])
    six_domains(tmp_path / "music", cfg.data.domains)
    overrides = [f"data.root={tmp_path / 'music'}", f"data.cache={tmp_path / 'cache'}", "data.batch_size=1",
                 "data.val_segments=1", "trainer.val_check_interval=2", "trainer.limit_val_batches=2"]
    dry = dry_run("music_translation", tmp_path, overrides)
    check_ranks(dry)
    module = inference.load_module(dry.run / "checkpoints" / "last.ckpt")
    net = module.net
    # the paper's sizes: encoder 3 x 10 x 128, latent 64 pooled over 800 samples (50 ms), six decoders of 4 x 10 x
    # 128 with a receptive field of 4,093 samples, C of three 1-D convolutions to the six domains
    assert len(net.encoder.layers) == 30 and net.encoder.out.out_channels == 64 and net.encoder.pool == 800
    assert len(net.decoders) == 6 and all(d.receptive_field == 4093 for d in net.decoders)
    assert net.decoders[0].residual_channels == 128 and net.confusion.net[-1].out_channels == 6
    assert sum(p.numel() for p in net.parameters()) == 30_007_926
    # W&B / examples: each validated domain's input and reconstruction, translate.example_seconds (4 s) long
    assert len(dry.audio_seconds) == 4, dry.audio_seconds
    assert all(abs(s - cfg.translate.example_seconds) < 0.06 for s in dry.audio_seconds.values()), dry.audio_seconds
    metrics = dry.ranks[0]["metrics"]
    assert {"train/loss", "val/loss"} <= set(metrics) and all(np.isfinite(list(metrics.values())))
