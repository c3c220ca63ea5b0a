"""The settings reach what they claim to set: the label fraction N reaches the instrument CNN, run.seed the
initial weights, every loss weight the loss; the example clips are the tensors their captions name; the
frequency of a known tone survives the mel analysis and the Griffin-Lim rendering."""

import shutil
from pathlib import Path

import librosa
import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from gmvae_timbre import data, evaluate, judging, newinputs, training, transfer_report
from gmvae_timbre.module import NoteClassifier, TimbrePitchModule

SR = 22050


def test_the_instrument_cnn_learns_from_the_labelled_notes_only():
    module = NoteClassifier(target="instrument", classes=3, model={"channels": 4, "hidden": 8},
                            features={"n_mels": 16, "frames": 5}, optim={"lr": 1e-3, "betas": [0.9, 0.999]})
    module.train()
    x = torch.rand(6, 16, 5)
    instrument, labelled = torch.tensor([0, 1, 2, 0, 1, 2]), torch.tensor([True, True, True, False, False, False])
    other = torch.tensor([0, 1, 2, 2, 2, 2])  # unlabelled rows carry other labels: they must not count
    torch.manual_seed(0)
    a = module.losses(x, instrument, instrument, labelled)["loss"]
    torch.manual_seed(0)
    b = module.losses(x, other, other, labelled)["loss"]
    assert a.item() == pytest.approx(b.item())


def test_the_label_fraction_reaches_the_instrument_cnn_of_the_eval(tiny, monkeypatch):
    seen = []
    losses = NoteClassifier.losses

    def spy(self, x, pitch, instrument, labelled):
        if self.training:
            seen.append(float(labelled.float().mean()))
        return losses(self, x, pitch, instrument, labelled)

    monkeypatch.setattr(NoteClassifier, "losses", spy)
    cfg = tiny.config("eval.cnn_max_steps=4", "run.name=fraction", "logger.wandb=false")
    evaluate.train_job(OmegaConf.to_container(cfg, resolve=True), ("cnn-instrument", 25, 0, 1))
    assert len(seen) == 4 and 0.15 < np.mean(seen) < 0.35, seen


def test_run_seed_reaches_the_initial_weights(tiny, monkeypatch):
    captured = []
    monkeypatch.setattr(training, "_fit", lambda cfg, variant, module, notes: captured.append(module) or variant)
    cfg = tiny.config()
    notes = data.load_notes(cfg, 100)
    for seed in (0, 0, 1):
        torch.manual_seed(123)  # whatever the global state was, run.seed decides
        training.train_model(cfg, "gmvae", 100, seed, notes)
    first, again, other = (m.state_dict() for m in captured)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_the_classifier_seed_reaches_its_initial_weights(tiny, monkeypatch):
    captured = []
    monkeypatch.setattr(training, "_fit", lambda cfg, variant, module, notes, callbacks=():
                        captured.append(module) or Path(variant) / "last.ckpt")
    cfg = tiny.config()
    for seed in (0, 0, 1):
        torch.manual_seed(seed + 7)
        training.train_classifier(cfg, "pitch", 100, seed, 10)
    first, again, other = (m.state_dict() for m in captured)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_a_cnn_trains_until_its_validation_loss_stops_falling_and_is_used_at_its_best(tiny):
    """With patience the CNN stops before its step cap once the validation loss (checked every 2 steps) has not
    fallen for 2 checks; the judge returned is the checkpoint of the lowest validation loss the run recorded; the
    stopped run counts as finished (reused, not trained again)."""
    cfg = evaluate.eval_cfg(tiny.config("run.name=converge", "logger.wandb=false"))  # no validation, no best
    notes = data.load_notes(cfg, 100)
    path = training.train_classifier(cfg, "pitch", 100, 0, 2000, notes, patience=2, val_every=2)
    last = path.parent / "last.ckpt"
    steps, stopped = training.stopped_at(last)
    assert stopped and steps < 2000
    assert path.name == f"best-{training.stopped_at(path)[0]}.ckpt" and training.stopped_at(path)[0] < steps
    written = last.stat().st_mtime_ns
    shutil.copy(last, path.parent / "best-0.ckpt")  # a stale file the run did not record is not its best
    assert training.train_classifier(cfg, "pitch", 100, 0, 2000, notes, patience=2, val_every=2) == path
    assert last.stat().st_mtime_ns == written
    assert judging.training_steps(path) == f"{training.stopped_at(path)[0]} of {steps} (converged)"


@pytest.mark.parametrize("kind", ["gmvae", "vae"])
def test_every_loss_weight_scales_its_term(kind):
    model = {"kind": kind, "latent_dim": 4, "channels": 4, "hidden": 8, "pitch_log_sigma": -2.0,
             "timbre_log_sigma": 0.0, "classifier_hidden": 8, "label_weight": 1.0, "pitch_weight": 1.0,
             "qy_samples": 1}
    x = torch.rand(6, 16, 5) * 2 - 1
    batch = (x, torch.tensor([0, 1, 2, 0, 1, 2]), torch.tensor([0, 1, 0, 1, 0, 1]), torch.ones(6, dtype=bool))
    for label_weight, pitch_weight in ((1.0, 1.0), (3.0, 0.5), (0.0, 7.0)):
        torch.manual_seed(0)
        module = TimbrePitchModule(pitches=[60, 61, 62], instruments=["a", "b"], log_min=-10.0, log_max=1.0,
                                   features={"n_mels": 16, "frames": 5},
                                   model={**model, "label_weight": label_weight, "pitch_weight": pitch_weight},
                                   optim={"lr": 1e-3, "betas": [0.9, 0.999]}, label_fraction=100)
        torch.manual_seed(1)
        out = module.losses(*batch)
        expected = (out["rec"] + out["kl_pitch"] + out["kl_timbre"] + out["kl_y"] + label_weight * out["ce"]
                    + pitch_weight * out["pitch_ce"])
        assert out["ce"] > 0 and out["pitch_ce"] > 0
        torch.testing.assert_close(out["loss"], expected)


def test_the_example_clips_are_the_notes_their_captions_name(tiny, gmvae_checkpoint):
    cfg = tiny.config("eval.examples=1", "eval.griffinlim_iters=4")
    notes = data.load_notes(cfg, 100)
    module = training.load_model(gmvae_checkpoint)
    (example,) = transfer_report.audio_examples(cfg, notes, module)
    clips = {clip.role: clip for clip in example.clips}
    source, target = cfg.eval.transfer_instruments[0], cfg.eval.transfer_instruments[1]
    row = next(i for i, p in enumerate(notes.paths) if clips["input"].caption.startswith(p))
    assert notes.val[row] and notes.instruments[notes.instrument[row]] == source
    x = torch.from_numpy(notes.x[[row]])
    np.testing.assert_allclose(clips["input"].audio, module.render(x, 4)[0], atol=1e-6)
    with torch.no_grad():
        posterior = module.model.encode(x)
        rebuilt = module.model.decode(posterior["mu_t"], posterior["mu_p"])
        s, t = torch.tensor([notes.instruments.index(source)]), torch.tensor([notes.instruments.index(target)])
        moved = module.model.transfer(x, s, t, 1.0)
    np.testing.assert_allclose(clips["reconstruction"].audio, module.render(rebuilt, 4)[0], atol=1e-6)
    np.testing.assert_allclose(clips["output"].audio, module.render(moved, 4)[0], atol=1e-6)
    match = next(i for i, p in enumerate(notes.paths) if clips["target"].caption.startswith(p))
    assert notes.instruments[notes.instrument[match]] == target
    np.testing.assert_allclose(clips["target"].audio, module.render(torch.from_numpy(notes.x[[match]]), 4)[0],
                               atol=1e-6)


@pytest.mark.parametrize("midi", [40, 69, 88])
def test_a_known_tone_keeps_its_frequency_through_mels_and_rendering(tiny, midi):
    settings = data.feature_settings(tiny.config().data)
    f0 = librosa.midi_to_hz(midi)
    t = np.arange(SR) / SR
    audio = sum(0.2 / k * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 5)).astype(np.float32)
    log_mel = data.log_mel(audio, settings)
    assert log_mel.shape == (settings["n_mels"], settings["frames"])
    centres = librosa.mel_frequencies(settings["n_mels"] + 2, fmin=settings["fmin"], fmax=settings["fmax"])[1:-1]
    peak = centres[log_mel[:, 2:-2].mean(1).argmax()]
    assert abs(12 * np.log2(peak / f0)) < 1.0  # the loudest band is the fundamental's, within a semitone
    from gmvae_timbre.render import mel_to_audio

    rendered = mel_to_audio(torch.from_numpy(log_mel)[None], settings, -1.0, 1.0, 32)[0]
    assert len(rendered) == settings["hop_length"] * (settings["frames"] - 1)
    error, voiced = newinputs.note_pitch(rendered, SR, midi)
    assert abs(error) < 25 and voiced > 0.8
