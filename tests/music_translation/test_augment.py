"""The batched local pitch modulation: the span's pitch moves by the asked semitones, the rest is untouched."""

import numpy as np
import pytest
import torch

from common.mulaw import mu_law_encode
from music_translation.augment import augment_codes, pitch_modulate, random_spans

RATE = 16000


def peak_frequency(x: np.ndarray, rate: int) -> float:
    """Frequency of the strongest spectral peak (Hann window, 64x zero padding, parabolic interpolation)."""
    n = len(x) * 64
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)), n))
    k = int(spectrum.argmax())
    a, b, c = np.log(spectrum[k - 1:k + 2])
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * rate / n


def test_span_is_shifted_by_the_asked_semitones_and_the_rest_is_untouched():
    t = torch.arange(RATE) / RATE
    audio = (0.5 * torch.sin(2 * torch.pi * 440 * t)).repeat(2, 1)
    start, length = torch.tensor([4000, 8000]), torch.tensor([6000, 4000])
    semitones = torch.tensor([0.5, -0.5])
    out = pitch_modulate(audio, start, length, semitones, window=480, fade=80)
    for b in range(2):
        s, n = int(start[b]), int(length[b])
        inner = out[b, s + 600:s + n - 100].numpy()
        expected = 440 * 2 ** (float(semitones[b]) / 12)  # 452.9 Hz or 427.5 Hz
        assert abs(peak_frequency(inner, RATE) - expected) < 1.5, (b, peak_frequency(inner, RATE))
        assert torch.equal(out[b, :s], audio[b, :s]) and torch.equal(out[b, s + n:], audio[b, s + n:])
        # the tone outside the span keeps its pitch exactly
        assert abs(peak_frequency(out[b, :s].numpy(), RATE) - 440) < 1.5


def test_codes_outside_the_span_are_identical_and_spans_follow_the_config():
    g = torch.Generator().manual_seed(0)
    start, length, semitones = random_spans(64, RATE, RATE, 0.25, 0.5, 0.5, g)
    assert ((length >= 0.25 * RATE) & (length <= 0.5 * RATE)).all()
    assert (start >= 0).all() and (start + length <= RATE).all() and semitones.abs().max() <= 0.5
    t = torch.arange(RATE) / RATE
    codes = mu_law_encode(0.5 * torch.sin(2 * torch.pi * 330 * t)).repeat(4, 1)
    cfg = dict(min_seconds=0.25, max_seconds=0.5, max_semitones=0.5, window_ms=30.0, fade_ms=5.0)
    out = augment_codes(codes, RATE, cfg, torch.Generator().manual_seed(1))
    changed = (out != codes).float()
    for row in changed:
        idx = row.nonzero().flatten()
        assert len(idx) > 0.2 * RATE  # a 0.25-0.5 s span changed
        assert idx.max() - idx.min() < 0.5 * RATE + 1  # ... and nothing outside one span


def test_the_default_preset_modulates_a_local_span_of_its_segments():
    """At the default's segment length the span is 1/4 to 1/2 of the segment (the paper's share), so the start or
    the end of every segment keeps its pitch; a span as long as the segment is refused (a global detune)."""
    from common.errors import InputError
    from common.lightning import load_config
    from music_translation import data, training
    from music_translation.config import MusicTranslationConfig

    cfg = load_config(MusicTranslationConfig, "music_translation", "default", [])
    rate, samples = cfg.data.sample_rate, data.segment_samples(cfg)
    t = torch.arange(samples) / rate
    codes = mu_law_encode(0.5 * torch.sin(2 * torch.pi * 330 * t)).repeat(64, 1)
    augment = dict(cfg.augment)
    out = augment_codes(codes, rate, augment, torch.Generator().manual_seed(0))
    changed = (out != codes).float().mean(1)
    assert (changed > 0.15).all() and (changed < 0.6).all(), changed
    training.check_model(cfg)
    wide = load_config(MusicTranslationConfig, "music_translation", "default",
                       [f"augment.max_seconds={samples / rate}"])
    with pytest.raises(InputError, match="global detune"):
        training.check_model(wide)
