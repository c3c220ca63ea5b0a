from types import SimpleNamespace

import matplotlib.image
import numpy as np
import torch

from common.lightning import ExampleLogger


def fake_trainer(step: int):
    return SimpleNamespace(sanity_checking=False, is_global_zero=True, current_epoch=0, global_step=step,
                           loggers=[])


def test_image_only_module_gets_its_images_written(tmp_path):
    module = SimpleNamespace(image_examples=lambda: {"latent/means": torch.arange(12.0).reshape(3, 4)})
    ExampleLogger(tmp_path).on_validation_epoch_end(fake_trainer(3), module)
    image = matplotlib.image.imread(tmp_path / "step-3" / "latent_means.png")
    assert image.shape[:2] == (3, 4)
    assert not np.allclose(image[0, 0], image[-1, -1])  # the colour map spans the value range


def test_audio_example_is_saved_with_a_spectrogram(tmp_path):
    t = torch.arange(16000) / 16000
    module = SimpleNamespace(audio_examples=lambda: {"tone": (0.5 * torch.sin(2 * torch.pi * 440 * t), 16000)})
    ExampleLogger(tmp_path).on_validation_epoch_end(fake_trainer(7), module)
    from common.audio import load_audio

    audio = load_audio(tmp_path / "step-7" / "tone.wav", 16000)
    assert np.allclose(audio, 0.5 * np.sin(2 * np.pi * 440 * t.numpy()), atol=1e-6)
    spectrogram = matplotlib.image.imread(tmp_path / "step-7" / "tone_spectrogram.png")
    assert spectrogram.shape[0] == 513  # n_fft 1024 -> 513 bins, low frequencies at the bottom
    row = 512 - round(440 / 16000 * 1024)
    assert spectrogram[row].mean() > spectrogram[50].mean()  # the 440 Hz row is brighter than 7 kHz


def test_the_models_eval_trains_render_no_examples_and_log_to_wandb_only_when_asked():
    from omegaconf import OmegaConf

    from common.lightning.config import eval_training_logs

    for asked in (False, True):
        cfg = OmegaConf.create({"logger": {"wandb": True, "examples_every_n_epochs": 5}, "eval": {"wandb": asked}})
        eval_training_logs(cfg)
        assert cfg.logger.wandb is asked and cfg.logger.examples_every_n_epochs == 0
