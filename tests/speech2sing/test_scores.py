"""Every score is taken against the right reference, on cases with a known answer: LSD and the speaker measure
against the sung target (not the input speech), RCA against the sung contour, and the sung F0 contour lies on the
spectrogram frames it belongs to (not a frame early or late)."""

import numpy as np
import pytest
import torch

from speech2sing import data, scores
from speech2sing.models import PhoneRecognizer

SR, HOP, NFFT = 16000, 256, 1024


def harmonic_tone(f0: np.ndarray, seconds_per_frame: float = HOP / SR) -> np.ndarray:
    """A 10-harmonic tone following the per-frame contour ``f0`` (Hz)."""
    per_sample = np.repeat(f0, HOP)
    phase = 2 * np.pi * np.cumsum(per_sample) / SR
    return (0.1 * sum(np.sin(k * phase) / k for k in range(1, 11))).astype(np.float32)


@pytest.fixture(scope="module")
def sample():
    """Singing: a tone on a three-note contour; speech: noise (another spectrum, no pitch)."""
    f0 = np.repeat([196.0, 262.0, 330.0], 40)
    from speech2sing import features as fx

    Y = fx.log_magnitude(fx.complex_stft(harmonic_tone(f0), NFFT, HOP))[:, : len(f0)]
    speech = np.random.default_rng(0).standard_normal(len(f0) * HOP).astype(np.float32) * 0.05
    X = fx.log_magnitude(fx.complex_stft(speech, NFFT, HOP))[:, : len(f0)]
    return data.Sample("A/01@0.00-1.92", "A", X, Y, f0, np.zeros(len(f0), dtype=np.int64), speech, 1.9)


def test_scores_are_taken_against_the_sung_target(tiny, sample):
    cfg = tiny.config("eval.pitch_hop=256", "eval.griffinlim_iters=16")
    torch.manual_seed(0)
    recogniser = PhoneRecognizer(NFFT // 2 + 1, 8, 41).eval()
    singers = {"A": scores.envelope(sample.Y), "B": scores.envelope(sample.X)}
    perfect, _ = scores.score(sample.Y, sample, cfg, recogniser, singers)
    speech, _ = scores.score(sample.X, sample, cfg, recogniser, singers)
    assert perfect["lsd"] == pytest.approx(0.0, abs=1e-6) and speech["lsd"] > 5
    assert perfect["rca"] > 0.9 and speech["rca"] < 0.3
    assert perfect["speaker_distance"] == pytest.approx(0.0, abs=1e-6) and perfect["speaker_nearest"] == 1.0
    assert speech["speaker_nearest"] == 0.0 and speech["speaker_distance"] > 1


def vowels(pitch_bins: int, frames: int = 80, bins: int = 513) -> np.ndarray:
    """log(1 + |S|) of a harmonic comb (a partial every ``pitch_bins`` bins) under a vowel envelope whose formant
    moves from bin 40 to bin 120 halfway."""
    f = np.arange(bins)
    comb = np.exp(-0.5 * (f % pitch_bins) ** 2) + np.exp(-0.5 * (pitch_bins - f % pitch_bins) ** 2)
    columns = [np.log1p((3 * np.exp(-0.5 * ((f - (40 if t < frames // 2 else 120)) / 15) ** 2)
                         + 0.3 * np.exp(-f / 200)) * comb) for t in range(frames)]
    return np.stack(columns, axis=1)


def test_the_speaker_measure_charges_an_output_that_regresses_to_the_mean_spectrum():
    """B1's failure: one average sung frame repeated. Against the same voice singing at another pitch, a distance
    of mean envelopes calls the average nearer; frame by frame it is farther."""
    target, same_voice = vowels(12), vowels(9)
    average = np.repeat(target.mean(1, keepdims=True), target.shape[1], axis=1)
    assert scores.cepstral_distortion(same_voice, target) < 0.8 * scores.cepstral_distortion(average, target)
    by_mean = {name: scores.cepstral_distance(scores.envelope(x), scores.envelope(target))
               for name, x in (("same voice", same_voice), ("average", average))}
    assert by_mean["average"] < by_mean["same voice"]  # what the mean-envelope measure got wrong


class Knows(torch.nn.Module):
    """A "recogniser" that outputs the given phones whatever it hears."""

    def __init__(self, phones):
        super().__init__()
        self.phones = torch.as_tensor(phones)

    def forward(self, x):
        return torch.nn.functional.one_hot(self.phones, 41).T[None].float()


def test_phone_errors_are_taken_against_the_sung_phones(tiny, sample):
    cfg = tiny.config("eval.pitch_hop=256", "eval.griffinlim_iters=4")
    singers = {"A": scores.envelope(sample.Y)}
    right, _ = scores.score(sample.Y, sample, cfg, Knows(sample.phones), singers, head_phones=sample.phones)
    wrong, _ = scores.score(sample.Y, sample, cfg, Knows(sample.phones + 1), singers, head_phones=sample.phones + 1)
    assert right["phone_error"] == 0.0 and right["head_phone_error"] == 0.0
    assert wrong["phone_error"] == 1.0 and wrong["head_phone_error"] == 1.0


def harmonic_energy(Y: np.ndarray, f0: np.ndarray) -> float:
    """Mean over voiced frames of Y at the first 6 harmonics of ``f0`` (linear interpolation between bins)."""
    bins = np.arange(Y.shape[0])
    total, count = 0.0, 0
    for t in np.flatnonzero(f0 > 0):
        k = np.arange(1, 7) * f0[t] * NFFT / SR
        total += np.interp(k, bins, Y[:, t]).mean()
        count += 1
    return total / max(count, 1)


def write_recording(folder, rng):
    """A recording with an exactly known sung contour: four syllables on notes with a wide vibrato, its ``.f0``
    every 10 ms and phone labels; the speech is noise with the same phones."""
    from common.audio import save_audio

    phones = ["b", "aa", "d", "iy", "k", "ow", "m", "ey"]
    bounds = np.r_[0.3, 0.3 + np.cumsum(np.tile([0.08, 0.42], 4))]
    notes = np.repeat([196.0, 233.1, 174.6, 261.6], 2)
    times = np.arange(0, 2.6, 0.01)
    f0 = np.zeros(len(times))
    for k in range(1, 8, 2):  # voiced on the vowels and their consonant
        inside = (times >= bounds[k - 1]) & (times < bounds[k + 1])
        f0[inside] = notes[k] * 2 ** (np.sin(2 * np.pi * 6 * times[inside]) / 12)
    per_sample = np.interp(np.arange(int(2.6 * SR)) / SR, times, f0)
    phase = 2 * np.pi * np.cumsum(per_sample) / SR
    sung = 0.1 * sum(np.sin(k * phase) / k for k in range(1, 11)) * (per_sample > 0)
    labels = [(0.0, 0.3, "sil"), *[(bounds[i], bounds[i + 1], p) for i, p in enumerate(phones)],
              (bounds[-1], 2.6, "sil")]
    for kind, audio in (("sing", sung), ("read", 0.05 * rng.standard_normal(len(sung)))):
        save_audio(folder / kind / "01.wav", audio.astype(np.float32), SR)
        (folder / kind / "01.txt").write_text("".join(f"{a:.4f} {b:.4f} {p}\n" for a, b, p in labels))
    (folder / "sing" / "01.f0").write_text("".join(f"{t:.2f} {v:.3f}\n" for t, v in zip(times, f0)))


def test_the_sung_contour_lies_on_its_spectrogram_frames(tiny, tmp_path):
    """On a recording whose sung contour is known exactly, the sample's F0 per frame puts the harmonics where the
    sung spectrogram has them: shifted by one frame either way, less energy there."""
    from speech2sing.catalog import Recording

    write_recording(tmp_path / "A", np.random.default_rng(0))
    samples = data.recording_samples(Recording("A", "01", tmp_path / "A"), tiny.config().data, "uniform")
    assert samples
    energy = {lag: np.mean([harmonic_energy(s.Y[:, 2:-2], np.roll(s.f0, lag)[2:-2]) for s in samples])
              for lag in (-1, 0, 1)}
    assert energy[0] > energy[-1] + 0.05 and energy[0] > energy[1] + 0.05, energy
