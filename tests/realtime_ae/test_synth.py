"""The synthesizer: exported decoders, the engine, the offline verbs and the window under Xvfb."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from realtime_ae.engine import SynthEngine
from realtime_ae.export import export_decoder
from realtime_ae.gui import midi_event
from realtime_ae.module import load_model
from realtime_ae.runtime import DecoderRuntime
from realtime_ae.synth import render_trajectory

SR, N_FFT, HOP = 44100, 4096, 1024
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    return export_decoder(load_model(trained), tmp_path_factory.mktemp("export"))


def test_exported_decoders_match_pytorch(trained, exported):
    module = load_model(trained)
    z, chroma = torch.rand(64, 2), torch.eye(12)[torch.arange(64) % 12]
    with torch.no_grad():
        expected = module.net.decoder(z, chroma).numpy()
    assert expected.max() > 0
    for backend in ("numpy", "torchscript", "onnx"):
        runtime = DecoderRuntime(exported[backend])
        assert runtime.backend == backend and runtime.meta["bottleneck"] == 2
        np.testing.assert_allclose(runtime.decode(z.numpy(), chroma.numpy()), expected, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(runtime.decode(z[0].numpy(), chroma[0].numpy()), expected[0], rtol=1e-4,
                                   atol=1e-6)
        for n in (1, 2, 3):  # the engine's few-frames-per-call sizes (numpy: the small-batch kernel)
            np.testing.assert_allclose(runtime.decode(z[:n].numpy(), chroma[:n].numpy()), expected[:n], rtol=1e-4,
                                       atol=1e-6)
    # int8 weights and per-call activation quantisation: close to, not equal to, the float decoder
    error = np.abs(DecoderRuntime(exported["int8"]).decode(z.numpy(), chroma.numpy()) - expected)
    assert error.max() < 0.1 * expected.max() and error.mean() < 0.01 * expected.max()
    # float16 weights: within a few 1e-4 of the peak
    half = DecoderRuntime(exported["half"])
    assert half.backend == "numpy" and half._chain.half
    assert np.abs(half.decode(z.numpy(), chroma.numpy()) - expected).max() < 2e-3 * expected.max()


def test_half_decoder_is_the_float_chain_on_rounded_weights(exported):
    """The float16 kernel equals float32 arithmetic on the float16-rounded weights, for every batch size the
    runtime splits or pairs (odd, even, across its chunks of 4)."""
    with np.load(exported["half"]) as arrays:
        layers = dict(arrays)
    assert layers["w0"].dtype == np.float16 and layers["b0"].dtype == np.float32
    runtime = DecoderRuntime(exported["half"])
    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 4, 5, 9):
        z, chroma = rng.random((n, 2), np.float32), np.eye(12, dtype=np.float32)[rng.integers(0, 12, n)]
        x = np.concatenate([z, chroma], axis=1)
        for i, slope in enumerate(layers["slopes"]):
            x = x @ layers[f"w{i}"].astype(np.float32) + layers[f"b{i}"]
            x = np.maximum(x, slope * x)
        np.testing.assert_allclose(runtime.decode(z, chroma), x, rtol=1e-5, atol=1e-6 * x.max())
        np.testing.assert_allclose(runtime.decode(z[-1], chroma[-1]), x[-1], rtol=1e-5, atol=1e-6 * x.max())


def test_runtime_loads_without_the_training_code(exported):
    code = ("import sys; sys.modules['realtime_ae.module'] = None; sys.modules['pytorch_lightning'] = None\n"
            "from realtime_ae.runtime import DecoderRuntime\n"
            f"r = DecoderRuntime({exported['onnx']!r}); s = DecoderRuntime({exported['torchscript']!r})\n"
            f"n = DecoderRuntime({exported['numpy']!r}); z, c = [.5, .5], [0] * 3 + [1] + [0] * 8\n"
            "print(max(float(abs(r.decode(z, c) - s.decode(z, c)).max()),\n"
            "          float(abs(n.decode(z, c) - s.decode(z, c)).max())))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr[-1500:]
    assert float(out.stdout) < 1e-4


def harmonic_decoder(z, chroma):
    """A stand-in decoder (N, 1), (N, 12) -> (N, 2049): partials of each row's pitch class, brightness set by
    its z[0]."""
    mags = np.zeros((len(z), 2049), np.float32)
    for row, (brightness, c) in enumerate(zip(z[:, 0], chroma)):
        f0 = 261.63 * 2 ** (int(np.argmax(c)) / 12)
        for k in range(1, 8):
            mags[row, int(round(f0 * k * N_FFT / SR))] = float(brightness) ** (k - 1)
    return mags


def click_level(audio: np.ndarray) -> float:
    """Peak of the output above 8 kHz relative to the output's peak. The stand-in decoder's partials stay below
    3 kHz, so energy up there can only come from discontinuities (a click is broadband)."""
    import scipy.signal

    high = scipy.signal.sosfiltfilt(scipy.signal.butter(8, 8000, "highpass", fs=SR, output="sos"), audio)
    return float(np.abs(high).max() / np.abs(audio).max())


@pytest.mark.parametrize("phase", ["noise", "advance"])
def test_constant_latent_output_is_continuous_across_blocks(phase):
    engine = SynthEngine(harmonic_decoder, 1, SR, N_FFT, HOP, phase=phase, volume=0.8)
    engine.set_latent([0.7])
    audio = engine.render(60)[8 * HOP :]  # after the smoothing has settled
    assert np.abs(audio).max() > 0.05
    assert click_level(audio) < 0.003  # no discontinuity at the block boundaries


def jumpy_run(smoothing_ms: float, volume: float = 0.2) -> np.ndarray:
    """Silence, then volume 0 -> ``volume`` and a latent jump at block 10, a note and latent jump at block 40 (at
    0.2 the peak stays below the limiter's ceiling)."""
    engine = SynthEngine(harmonic_decoder, 1, SR, N_FFT, HOP, phase="advance", volume=0.0, smoothing_ms=smoothing_ms)
    blocks = []
    for b in range(80):
        if b == 10:
            engine.set_volume(volume)
            engine.set_latent([0.9])
        if b == 40:
            engine.set_chroma(7)
            engine.set_latent([0.1])
        blocks.append(engine.next_block())
    return np.concatenate(blocks)


def test_slider_jumps_and_note_changes_do_not_click():
    assert np.abs(jumpy_run(40.0)).max() > 0.05
    assert click_level(jumpy_run(40.0)) < 0.003
    assert click_level(jumpy_run(0.0)) < 0.003  # the per-block volume ramp alone already avoids clicks
    stepped = jumpy_run(40.0)
    at = 30 * HOP + int(np.abs(stepped[30 * HOP : 31 * HOP]).argmax())
    stepped[at:] *= 0.5  # a hard gain step where the wave is loud is what the measure must catch
    assert click_level(stepped) > 0.05


def test_the_limiter_keeps_loud_output_below_full_scale_without_clicks():
    """Volume 1 on a spectrum that sums to five times full scale: no sample reaches 1, the gain changes without
    clicks, and under the ceiling the limiter does nothing."""
    loud = jumpy_run(40.0, volume=1.0)
    assert 0.8 < np.abs(loud).max() < 0.99
    assert click_level(loud) < 0.003
    engine = SynthEngine(harmonic_decoder, 1, SR, N_FFT, HOP, phase="advance", volume=1.0)
    engine.set_latent([0.9])
    engine.render(40)
    engine.set_volume(0.05)
    engine.render(200)
    assert engine.limiter_gain == 1.0  # released back to unit gain (and to the cheap path) once quiet
    engine = SynthEngine(harmonic_decoder, 1, SR, N_FFT, HOP, phase="advance", volume=0.2)
    engine.set_latent([0.9])
    quiet = engine.render(60)
    assert engine.limiter_gain == 1.0 and np.abs(quiet).max() < 0.6


def scripted_run(frames_per_decode: int, latent_moves: dict[int, float], note_at: int = 13):
    """80 blocks with latent targets set at the given blocks and a note change at ``note_at`` -> (audio, number
    of frames decoded, number of decoder calls)."""
    calls = []

    def decoder(z, chroma):
        calls.append(len(z))
        return harmonic_decoder(z, chroma)

    engine = SynthEngine(decoder, 1, SR, N_FFT, HOP, volume=0.8, frames_per_decode=frames_per_decode)
    blocks = []
    for b in range(80):
        if b in latent_moves:
            engine.set_latent([latent_moves[b]])
        if b == note_at:
            engine.set_chroma(5)
        blocks.append(engine.next_block())
    return np.concatenate(blocks), sum(calls), len(calls)


def test_decoding_several_blocks_per_call_matches_one_per_call():
    moves = {0: 0.3, 6: 0.8, 24: 0.5, 48: 0.9}  # at multiples of 3: each batch of 3 starts with its target
    one, frames_one, calls_one = scripted_run(1, moves)
    three, frames_three, calls_three = scripted_run(3, moves)
    np.testing.assert_allclose(three, one, atol=1e-6)  # the note change mid-batch (block 13) is not delayed
    assert calls_three < calls_one / 2  # fewer reads of the weights
    assert frames_three <= frames_one + 2 * 5  # + at most the rest of each batch after the latent settled
    # a move at block 7 is picked up by the batch starting at block 9: exactly the 1-per-call run moved at 9
    late, _, _ = scripted_run(3, {0: 0.3, 7: 0.8})
    np.testing.assert_allclose(late, scripted_run(1, {0: 0.3, 9: 0.8})[0], atol=1e-6)
    assert np.abs(late - scripted_run(1, {0: 0.3, 7: 0.8})[0]).max() > 0.01


def test_render_verb_writes_the_trajectory(tiny, trained, tmp_path):
    csv_path = tmp_path / "path.csv"
    csv_path.write_text("time,z0,z1,chroma,volume\n0,0.2,0.2,C,0.6\n0.5,0.8,0.3,G,0.6\n1.0,0.5,0.9,7,0\n")
    out = tmp_path / "out.wav"
    assert tiny.run("render", csv_path, "--out", out) == 0
    audio, rate = sf.read(out)
    assert rate == SR and len(audio) == pytest.approx(1.5 * SR, abs=HOP + 1)
    assert np.abs(audio[: SR // 2]).max() > 1e-3 and np.abs(audio[-SR // 10 :]).max() < 1e-2 * np.abs(audio).max()
    (tmp_path / "bad.csv").write_text("time,z0,chroma\n0,0.1,C\n")
    assert tiny.run("render", tmp_path / "bad.csv", "--out", out) == 2


def test_render_matches_engine_block_by_block(trained, exported):
    runtime = DecoderRuntime(exported["torchscript"])
    rows = [{"time": 0.0, "z": [0.3, 0.6], "chroma": 4, "volume": 0.5}]
    a = render_trajectory(SynthEngine(runtime.decode, 2, SR, N_FFT, HOP), rows)
    engine = SynthEngine(runtime.decode, 2, SR, N_FFT, HOP)
    engine.set_latent([0.3, 0.6])
    engine.set_chroma(4)
    engine.set_volume(0.5)
    np.testing.assert_allclose(a, engine.render(len(a) // HOP), atol=1e-6)


def test_resynth_verb_and_its_bad_inputs(tiny, trained, tmp_path):
    clip = next((tiny.root / "synthetic/scales/one_octave/test").glob("*.wav"))
    out = tmp_path / "re.wav"
    assert tiny.run("resynth", clip, "--out", out) == 0
    audio, rate = sf.read(out)
    original, _ = sf.read(clip)
    assert rate == SR and len(audio) == len(original) and np.abs(audio).max() > 1e-3
    sf.write(tmp_path / "silent.wav", np.zeros(SR), SR)
    sf.write(tmp_path / "short.wav", np.ones(100) * 0.1, SR)
    assert tiny.run("resynth", tmp_path / "silent.wav", "--out", out) == 2
    assert tiny.run("resynth", tmp_path / "short.wav", "--out", out) == 2
    assert tiny.run("resynth", tmp_path / "missing.wav", "--out", out) == 2
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    assert tiny.run("resynth", clip, "--out", out, f"ckpt={tmp_path / 'junk.ckpt'}") == 2


def test_play_without_a_sound_card_says_so_in_one_line(tiny, trained, capsys):
    try:
        import sounddevice

        sounddevice.query_devices(kind="output")
        pytest.skip("this machine has a sound card")  # the one-line message is for machines without one
    except Exception:
        pass
    assert tiny.run("play") == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and "sound card" in lines[0]


def test_midi_note_on_sets_chroma_and_volume():
    mido = pytest.importorskip("mido")
    pitch, volume, sounding = midi_event(mido.Message("note_on", note=67, velocity=127), None)
    assert (pitch, volume, sounding) == (7, 1.0, 67)
    assert midi_event(mido.Message("note_off", note=60), 67) == (None, None, 67)  # another key released
    assert midi_event(mido.Message("note_on", note=67, velocity=0), 67) == (None, 0.0, None)


def test_window_starts_under_xvfb_and_is_screenshotted(exported, tmp_path):
    from PIL import Image

    from realtime_ae.gui import screenshot, virtual_display

    high = DecoderRuntime(exported["onnx"]).meta["latent_max"]
    shot = Path(os.environ.get("REALTIME_AE_SCREENSHOTS", tmp_path)) / "synth_window.png"
    with virtual_display() as display:
        seen = screenshot(exported["onnx"], display, shot, latent=high)
    pixels = np.asarray(Image.open(shot))
    assert pixels.shape[0] > 150 and pixels.shape[1] > 200 and seen["sliders"] == 2
    assert pixels.std() > 10  # drawn widgets, not a blank screen
    np.testing.assert_allclose(seen["target_z"], high, atol=0.01)  # the sliders drive the engine
