"""Training-time augmentation of the target audio (`data.augment`): it changes the audio and keeps its length,
dtype and device, is reproducible from a seeded generator, is the identity when off, and reaches the target
encoder's training batches on the frame grid of the cached features."""

from dataclasses import asdict

import numpy as np
import pytest
import torch

from da_vae import data, features, training
from da_vae.augment import augment_audio, eq_curve, room_response
from da_vae.config import AugmentConfig
from da_vae.module import TargetEncoder

SR = 16000


def settings(**changes) -> dict:
    return {**asdict(AugmentConfig()), "enabled": True, **changes}


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def tones(batch: int = 6, samples: int = 7424, dtype=torch.float32) -> torch.Tensor:
    t = torch.arange(samples, dtype=torch.float64) / SR
    freqs = torch.linspace(110, 1760, batch, dtype=torch.float64)[:, None]
    return (torch.sin(2 * torch.pi * freqs * t) + 0.3 * torch.sin(2 * torch.pi * 3 * freqs * t)).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_augmentation_changes_the_audio_and_keeps_its_length_dtype_and_device(dtype):
    audio = tones(dtype=dtype)
    out = augment_audio(audio, SR, settings(), generator(0))
    assert out.shape == audio.shape and out.dtype == dtype and out.device == audio.device
    change = (out - audio).norm(dim=1) / audio.norm(dim=1)
    assert (change > 0.05).all(), change  # every segment is changed audibly (more than -26 dB of difference)
    assert torch.isfinite(out).all()


def test_augmentation_is_reproducible_from_a_seeded_generator_and_varies_with_the_seed():
    audio = tones()
    first, again = (augment_audio(audio, SR, settings(), generator(7)) for _ in range(2))
    torch.testing.assert_close(first, again, rtol=0, atol=0)
    other = augment_audio(audio, SR, settings(), generator(8))
    assert (other - first).abs().max() > 1e-2


def test_augmentation_off_is_the_identity():
    audio = tones()
    assert augment_audio(audio, SR, settings(enabled=False), generator(0)) is audio
    # on, with every strength at zero, it is the identity too (up to FFT rounding)
    quiet = settings(gain_db=0.0, eq_db=0.0, reverb_probability=0.0)
    torch.testing.assert_close(augment_audio(audio, SR, quiet, generator(0)), audio, rtol=0, atol=1e-5)


def test_each_effect_does_what_it_says():
    audio = tones(batch=64)
    # gain alone: every segment scaled by one factor within +-6 dB, the factors spread over the range
    out = augment_audio(audio, SR, settings(eq_db=0.0, reverb_probability=0.0), generator(1))
    ratio = (out * audio).sum(1) / audio.square().sum(1)
    torch.testing.assert_close(out, ratio[:, None] * audio, rtol=0, atol=1e-4)
    db = 20 * ratio.log10()
    assert db.abs().max() <= 6.0 + 1e-4 and db.min() < -3 and db.max() > 3
    # EQ: the controls' gains at their frequencies, flat below the lowest one
    gains = torch.tensor([[-6.0, 0.0, 6.0]])
    curve = 20 * eq_curve(gains, 16000, SR).log10()[0]  # 1 Hz bins
    centres = np.geomspace(60, SR / 2, 3).round().astype(int)
    torch.testing.assert_close(curve[centres], gains[0], rtol=0, atol=0.05)
    assert curve[:60].sub(-6).abs().max() < 1e-4
    # reverb: unit direct path plus a tail of the drawn energy, decaying by 60 dB over the RT60
    response = room_response(torch.tensor([0.3]), torch.tensor([0.5]), SR, SR, generator(2))[0]
    assert response[0] == 1 and response[1:].square().sum() == pytest.approx(0.5, rel=1e-4)
    early, late = response[1:480].square().mean(), response[4560:5040].square().mean()  # around 0 s and 0.3 s
    assert 10 * torch.log10(early / late) == pytest.approx(60, abs=10)


def test_cached_audio_segments_give_the_cached_features_and_reach_the_training_step(tiny):
    cfg = tiny.config("task.name=midi", "data.augment.enabled=true")
    prepared = data.PreparedTask(data.prepare_audio(cfg, "midi"))
    train = data.SegmentPairs(prepared, "train", cfg.data.segment_frames, cfg.data.train_hop_frames, audio=True)
    plain = data.SegmentPairs(prepared, "train", cfg.data.segment_frames, cfg.data.train_hop_frames)
    hop = features.hop_length(cfg.data.sample_rate, cfg.data.hop_ms)
    rows = [0, len(train) // 2, len(train) - 1]  # first, middle and last segment (its audio ends at the padding)
    batch = [torch.stack([train[i][k] for i in rows]) for k in range(4)]
    assert batch[3].shape == (3, (cfg.data.segment_frames - 1) * hop + cfg.data.n_fft)
    torch.testing.assert_close(batch[1], torch.stack([plain[i][1] for i in rows]))
    mel = features.log_mel_segments(batch[3], cfg.data.sample_rate, cfg.data.n_fft, hop, cfg.data.midi_mels)
    raw = torch.stack([torch.from_numpy(np.array(prepared.matrices()[1][s : s + 21])) for s in train.starts[rows]])
    torch.testing.assert_close(mel, raw, rtol=1e-4, atol=1e-4)  # the same frames as the cached log-mel

    args = training.module_args(cfg, prepared)
    module = TargetEncoder(**args, augment=settings(enabled=False))
    torch.testing.assert_close(module.augmented_target(batch[3]), batch[1], rtol=1e-4, atol=1e-3)
    module = TargetEncoder(**args, augment=settings())
    augmented = module.augmented_target(batch[3], generator(0))
    assert augmented.shape == batch[1].shape and (augmented - batch[1]).abs().mean() > 0.1
    seen = []
    module.losses = lambda *b: seen.append(b) or {"loss": torch.zeros(())}
    module._log_losses = lambda *args: None
    module.training_step(batch, 0)  # the fourth tensor is turned into the augmented target
    assert len(seen[0]) == 3 and (seen[0][1] - batch[1]).abs().mean() > 0.1


def test_training_with_augmentation_is_its_own_run(tiny, midi_checkpoint):
    assert tiny.run("train", "task.name=midi", "task.stage=target", "data.augment.enabled=true",
                    "trainer.max_steps=10") == 0
    path = tiny.root / "runs/da_vae/default/midi-L32-encoder-wt-aug/checkpoints/last.ckpt"
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    assert checkpoint["global_step"] == 10 and checkpoint["hyper_parameters"]["augment"]["enabled"]
    assert torch.load(midi_checkpoint, map_location="cpu", weights_only=False)["hyper_parameters"]["augment"] is None
