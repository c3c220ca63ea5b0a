"""What each da_vae number is measured against: Table 3 scores a voice estimate against the true voice (an oracle
scores high, the mixture itself NSDR 0), its audio examples are the tensors their captions name, Task 2 latents
are z-scored over time, e follows the true path's orientation, an identity separator gives back the mixture,
and the frame / bin conversions land a known tone where it belongs."""

from types import SimpleNamespace

import librosa
import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from common.audio import save_audio
from common.report import Example
from da_vae import catalog, data, features, figure4, inference, table3
from da_vae.config import DaVaeConfig

SR, HOP, N_FFT = 16000, 320, 1024


def tone(freq: float, seconds: float = 1.0, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def karaoke(tmp_path, accompaniment_gain: float = 1.0):
    """A stereo MIR-1K-style clip (accompaniment left, voice right) -> (path, voice, accompaniment) as read back."""
    rng = np.random.default_rng(0)
    t = np.arange(2 * SR) / SR
    voice = sum(0.2 / k * np.sin(2 * np.pi * k * (220 * t + 3 * np.sin(2 * np.pi * 5 * t))) for k in range(1, 6))
    accompaniment = accompaniment_gain * (0.15 * np.sin(2 * np.pi * 330 * t) + 0.1 * np.sin(2 * np.pi * 523 * t)
                                          + 0.02 * rng.standard_normal(len(t)))
    path = save_audio(tmp_path / "abjones_1_01.wav", np.stack([accompaniment, voice]).astype(np.float32), SR,
                      subtype="FLOAT")
    return path, *catalog.load_karaoke(str(path), SR)


def test_table3_scores_each_estimate_against_the_true_voice(tmp_path, monkeypatch):
    """An oracle (the voice plus -60 dB noise) scores far above the mixture, the mixture itself has NSDR 0, and the
    accompaniment given as the voice scores far below the mixture: the reference is the voice, not the mixture."""
    path, voice, accompaniment = karaoke(tmp_path)
    noise = 1e-3 * np.random.default_rng(1).standard_normal(len(voice)).astype(np.float32)
    separators = {"oracle": lambda mixture: voice + noise, "identity": lambda mixture: mixture,
                  "accompaniment": lambda mixture: accompaniment}
    monkeypatch.setattr(table3.inference, "load_target", lambda key, task: key)
    monkeypatch.setattr(table3.inference, "separate_voice", lambda key, mixture, hop: separators[key](mixture))
    [row] = table3._score_clips([("clip", str(path), True)], {k: k for k in separators}, SR, 5, ["oracle"])
    scores = row["scores"]
    assert scores["identity"]["NSDR"] == pytest.approx(0.0, abs=1e-6)
    assert scores["oracle"]["SDR"] > 40 and scores["oracle"]["NSDR"] > 30, scores["oracle"]
    assert scores["accompaniment"]["SDR"] < -10 and scores["accompaniment"]["NSDR"] < -10, scores["accompaniment"]
    assert scores["oracle"]["energy"] == pytest.approx(1.0, abs=1e-3)
    assert scores["accompaniment"]["energy"] == pytest.approx(np.sum(accompaniment**2) / np.sum(voice**2))
    # the example audio of the clip: each clip is the tensor its caption names
    np.testing.assert_array_equal(row["audio"]["mixture"], voice + accompaniment)
    np.testing.assert_array_equal(row["audio"]["voice"], voice)
    np.testing.assert_array_equal(row["audio"]["oracle"], voice + noise)
    assert set(row["audio"]) == {"mixture", "voice", "oracle"}


def test_table3_example_rows_put_each_clip_under_its_own_caption():
    audio = {"mixture": np.full(4, 1.0), "voice": np.full(4, 2.0), "k-dae": np.full(4, 3.0), "k-rdae": np.full(4, 4.0)}
    first = {"magnitude": {"DAE": "k-dae", "rDAE": "k-rdae"}}
    example = table3.example({"name": "clip", "audio": audio}, first, 7, SR)
    assert isinstance(example, Example) and example.title == "clip"
    got = {(clip.role, clip.caption): float(clip.audio[0]) for clip in example.clips}
    assert got == {("mixture", "input"): 1.0, ("DAE, magnitude", "voice estimate, seed 7"): 3.0,
                   ("rDAE, magnitude", "voice estimate, seed 7"): 4.0, ("voice", "target: the true voice"): 2.0}
    assert [clip.role for clip in example.clips][0] == "mixture" and example.clips[-1].role == "voice"


def test_task2_latents_are_z_scored_over_time_per_dimension(monkeypatch):
    """Each latent dimension has mean 0 and std 1 over the frames of a clip (the paper's post-normalisation):
    per-dimension offsets and gains vanish, which z-scoring each frame over the latent axis would not do."""
    rng = np.random.default_rng(0)
    latents = rng.standard_normal((300, 6)) * np.array([1, 10, 0.1, 3, 5, 2]) + np.array([0, -4, 7, 100, 1, 3])
    z = figure4.post_zscore(latents)
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-9)
    np.testing.assert_allclose(z.std(0), 1, atol=1e-6)
    np.testing.assert_allclose(figure4.post_zscore(3 * latents + 5), z, atol=1e-6)
    assert np.abs(z.mean(1)).max() > 0.1  # not z-scored per frame

    d = OmegaConf.structured(DaVaeConfig).data
    gains = {"0": 2.0, "1": 0.5}
    monkeypatch.setattr(figure4.inference, "frame_latents",
                        lambda model, mel, domain: gains[model] * mel[:, :4] + (7.0 if domain == "source" else -3.0))
    feats = figure4.clip_features(tone(440), "source", {s: s for s in gains}, d)
    assert feats["MCEP"].shape == (features.frame_count(SR, HOP), 24)
    for z in feats["Proposed"].values():
        assert z.shape == (features.frame_count(SR, HOP), 4)
        np.testing.assert_allclose(z.mean(0), 0, atol=1e-5)
        np.testing.assert_allclose(z.std(0), 1, atol=1e-3)


def test_task2_error_follows_the_true_path_orientation():
    """Features that follow a known non-linear stretch align with e near 0 against the true path of (original
    frame, distorted frame); the same path read the other way round is far off."""
    rng = np.random.default_rng(0)
    original = np.cumsum(rng.standard_normal((120, 3)), axis=0)
    positions = np.linspace(0, 119, 90) ** 1.3 / 119**0.3  # a distorted frame's position in the original
    distorted = np.stack([np.interp(positions, np.arange(120), original[:, k]) for k in range(3)], axis=1)
    from common.align import path_from_positions

    truth = path_from_positions(positions, 120)
    assert figure4.alignment_error(original, distorted, truth) < 0.5
    assert figure4.alignment_error(original, distorted, truth[:, ::-1]) > 5


class _Separator:
    """A separation module stand-in: ``separate`` maps mixture magnitudes to voice magnitudes by ``rule``."""

    def __init__(self, rule):
        self.rule = rule
        self.hparams = SimpleNamespace(features={"sample_rate": SR, "n_fft": N_FFT, "hop_ms": 20.0}, frames=21)

    def separate(self, mixture: torch.Tensor) -> torch.Tensor:
        return self.rule(mixture)


def test_an_identity_separator_gives_back_the_mixture_and_a_silent_one_silence(tmp_path):
    _, voice, accompaniment = karaoke(tmp_path)
    mixture = 3.0 * (voice + accompaniment) + 0.01  # the scale and the offset both come back
    out = inference.separate_voice(_Separator(lambda m: m), mixture, 5)
    assert out.shape == mixture.shape
    np.testing.assert_allclose(out, mixture - mixture.mean(), atol=1e-4)
    assert not inference.separate_voice(_Separator(torch.zeros_like), mixture, 5).any()
    half = inference.separate_voice(_Separator(lambda m: m / 2), mixture, 5)
    np.testing.assert_allclose(half, (mixture - mixture.mean()) / 2, atol=1e-4)


def test_separation_features_scale_the_voice_like_the_mixture(tmp_path):
    """With a silent accompaniment the voice feature equals the mixture feature: both are the |STFT| of the clip
    divided by the mixture's standard deviation (the voice keeps its share of the z-scored mixture)."""
    path, voice, _ = karaoke(tmp_path, accompaniment_gain=0.0)
    cfg = OmegaConf.structured(DaVaeConfig)
    item = catalog.Item("abjones_1_01", str(path), None, "abjones_1")
    source, target = data.item_features("separation", item, cfg.data)
    assert source.shape == target.shape == (features.frame_count(len(voice), HOP), N_FFT // 2 + 1)
    np.testing.assert_allclose(source, target, atol=1e-3 * target.max())
    expected = features.magnitude(voice / voice.std(), N_FFT, HOP)
    np.testing.assert_allclose(source, expected, atol=1e-3 * expected.max())


# -- frame and bin conversions, on known tones ----------------------------------------------------------------

def test_a_tone_lands_in_its_stft_bin_mel_band_and_chroma_class_on_the_20_ms_grid():
    assert features.hop_length(SR, 20.0) == HOP and features.hop_length(22050, 10.0) == 220
    assert features.frame_count(SR, HOP) == 51  # centred frames at 0, 20, ..., 1000 ms
    for freq in (250.0, 1000.0, 3000.0):
        y = tone(freq)
        mag = features.magnitude(y, N_FFT, HOP)
        assert mag.shape == (51, N_FFT // 2 + 1)
        assert np.argmax(mag[25]) == round(freq * N_FFT / SR)
        mel = features.log_mel(y, SR, N_FFT, HOP, 128)
        centres = librosa.mel_frequencies(128 + 2, fmax=SR / 2)[1:-1]
        assert abs(np.argmax(mel[25]) - np.argmin(np.abs(centres - freq))) <= 1
    chroma = features.audio_chroma(tone(440.0), SR, N_FFT, HOP)
    assert chroma.shape == (51, 12) and (np.argmax(chroma[5:-5], axis=1) == 9).all()  # A (C = 0)
    c4 = features.audio_chroma(tone(261.63), SR, N_FFT, HOP)
    assert (np.argmax(c4[5:-5], axis=1) == 0).all()


def test_a_note_lands_in_its_roll_row_and_chroma_class_on_the_frames_it_sounds():
    import pretty_midi

    midi = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(0)
    piano.notes.append(pretty_midi.Note(90, 69, 0.30, 0.70))  # A4 from frame 15 to frame 35
    midi.instruments.append(piano)
    roll = features.piano_roll(midi, 51, HOP / SR)
    assert np.flatnonzero(roll.any(axis=0)).tolist() == [69]
    frames = np.flatnonzero(roll[:, 69])
    assert frames[0] in (15, 16) and frames[-1] in (34, 35)
    chroma = features.midi_chroma(midi, 51, HOP / SR)
    assert (np.argmax(chroma[frames], axis=1) == 9).all() and not chroma[:14].any() and not chroma[36:].any()


def test_each_stage_draws_the_tensors_its_example_image_names():
    """Rows are drawn bottom-up (``common.images.heatmap_image``): "mixture_estimate_voice" stacks the true voice
    (bottom), the estimate and the mixture (top); "input_over_reconstruction" the reconstruction under the input;
    "z_over_z_star" z* under z."""
    from da_vae.module import SourceVAE, TargetDAE, TargetEncoder, segment_strip
    from tests.da_vae.test_losses import separation_set, stage_args, trained_source

    source = trained_source()
    voice, mixture = separation_set(n=4)
    stats = {"source_mean": torch.zeros(24), "source_std": torch.ones(24), "target_mean": torch.full((24,), 1.0),
             "target_std": torch.full((24,), 3.0)}
    dae = TargetDAE(**{**stage_args((24, 24)), "task": "separation"}, stats=stats).start_from(source.vae).eval()
    with torch.no_grad():
        [image] = dae.example_images(voice, (mixture - 1.0) / 3.0, voice).values()
        estimate = dae.estimate_representation(mixture)[0]
    for k, expected in enumerate((torch.log1p(voice), estimate, torch.log1p(mixture))):
        np.testing.assert_allclose(image[24 * k:24 * (k + 1)], segment_strip(expected), atol=1e-5)
    vae = SourceVAE(**{**stage_args((24, 24)), "task": "singing"}).eval()
    x = torch.randn(4, 21, 24)
    with torch.no_grad():
        [image] = vae.example_images(x, x, x).values()
        reconstruction = vae.vae.decoder(vae.vae.encoder(x)[0])
    np.testing.assert_allclose(image[:24], segment_strip(reconstruction), atol=1e-5)
    np.testing.assert_allclose(image[24:], segment_strip(x), atol=1e-6)
    encoder = TargetEncoder(**stage_args((24, 24)), init_from_source=False).start_from(source.vae).eval()
    target = torch.randn(4, 21, 24)
    with torch.no_grad():
        [image] = encoder.example_images(x, target, x).values()
        z, z_star = encoder.source(x)[0], encoder.encoder(target)[0]
    np.testing.assert_allclose(image[:8], z_star.T.numpy(), atol=1e-5)
    np.testing.assert_allclose(image[8:], z.T.numpy(), atol=1e-5)
