"""Real-time synth benchmark: the paper-size 8-unit decoder (8 + 12 -> 16 ... 1024 -> 2049 bins), exported to
TorchScript and ONNX, driving the synth engine on one CPU thread.

Prints, per backend, the time per 1024-sample block (decode + phase + inverse FFT + overlap-add) while a slider
moves (a frame decoded every block) and once it has settled (the decoded frame reused), against the hop
duration (23.2 ms at 44.1 kHz) as a real-time factor (hop time / block time; the issue's target is >= 50x),
and the latency from a slider change to audible output, measured offline on the engine: two engines with the
same noise phase, one of which gets a new latent at block b; the first output sample after the change that
differs from the unchanged engine by more than -40 dB of the output RMS, and the time until the difference
reaches 90% of its final size (the parameter smoothing). End to end, a live slider adds at most one block of
waiting for the next audio callback and one block of device buffer (sounddevice, blocksize = hop).
Timing does not depend on the weights; the latency does (how much a slider move changes the sound), so pass
``--ckpt`` with a trained 8-unit model (e.g. the one ``make eval-realtime`` trains) to measure it on that;
without it the weights are random.

    .venv/bin/python bench/realtime.py \
        [--ckpt runs/realtime_ae/default/eval/one_octave-b8-sigmoid-chroma-skip-seed0/checkpoints/last.ckpt]
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from realtime_ae.engine import SynthEngine
from realtime_ae.export import export_decoder
from realtime_ae.module import FrameAutoencoder
from realtime_ae.runtime import DecoderRuntime

SR, N_FFT, HOP = 44100, 4096, 1024
BLOCKS = 400


def paper_module() -> FrameAutoencoder:
    model = dict(hidden=[1024, 512, 256, 128, 64, 32, 16], bottleneck=8, activation="sigmoid",
                 augmentation="chroma", skip=True, variational=False, beta=1.0)
    torch.manual_seed(0)
    return FrameAutoencoder(bins=2049, model=model, optim={"lr": 5e-4, "l2": 1e-7},
                            features={"sample_rate": SR, "n_fft": N_FFT, "hop_length": HOP}).eval()


def block_times(runtime: DecoderRuntime, moving: bool) -> np.ndarray:
    """Seconds per engine block over BLOCKS blocks: a new random latent every block (``moving``: every block
    decodes a frame) or a settled latent (the decoded frame is reused)."""
    engine = SynthEngine(runtime.decode, 8, SR, N_FFT, HOP)
    rng = np.random.default_rng(0)
    engine.set_latent(rng.random(8))
    engine.render(200)  # warm up and settle
    times = []
    for _ in range(BLOCKS):
        if moving:
            engine.set_latent(rng.random(8))
        t0 = time.perf_counter()
        engine.next_block()
        times.append(time.perf_counter() - t0)
    return np.array(times)


def decode_times(runtime: DecoderRuntime) -> np.ndarray:
    z, c = np.random.default_rng(0).random(8).astype(np.float32), np.eye(12, dtype=np.float32)[3]
    times = []
    for _ in range(BLOCKS):
        t0 = time.perf_counter()
        runtime.decode(z, c)
        times.append(time.perf_counter() - t0)
    return np.array(times)


def change_latency(runtime: DecoderRuntime, smoothing_ms: float) -> tuple[float, float]:
    """(ms from the change to the first audibly different sample, ms to 90% of the final difference)."""
    engines = [SynthEngine(runtime.decode, 8, SR, N_FFT, HOP, smoothing_ms=smoothing_ms) for _ in range(2)]
    for e in engines:
        e.set_latent(np.full(8, 0.3))
        e.render(40)
    engines[1].set_latent(np.full(8, 0.7))
    a, b = (e.render(60) for e in engines)
    diff = np.abs(b - a)
    rms = float(np.sqrt(np.mean(a**2)))
    first = int(np.argmax(diff > rms * 10 ** (-40 / 20)))
    envelope = np.sqrt(np.convolve(diff**2, np.ones(HOP) / HOP, mode="same"))
    settle = int(np.argmax(envelope >= 0.9 * envelope[-5 * HOP :].mean()))
    return 1000 * first / SR, 1000 * settle / SR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", help="a trained 8-unit realtime_ae checkpoint for the latency measurement")
    args = parser.parse_args()
    torch.set_num_threads(1)
    hop_ms = 1000 * HOP / SR
    print(f"load average {os.getloadavg()[0]:.2f}; hop {HOP} samples = {hop_ms:.1f} ms; one thread\n")
    print("| backend | decoder call (ms) | block, slider moving: median / p99 (ms) | real-time factor | "
          "block, settled: median (ms) | real-time factor |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        paths = export_decoder(paper_module(), tmp)
        runtimes = {b: DecoderRuntime(paths[b]) for b in ("torchscript", "onnx")}
        latency_runtime = runtimes["onnx"]
        if args.ckpt:
            from realtime_ae.module import load_model

            trained = load_model(args.ckpt)
            if trained.hparams.model["bottleneck"] != 8:
                parser.error(f"--ckpt {args.ckpt}: needs an 8-unit model")
            latency_runtime = DecoderRuntime(export_decoder(trained, Path(tmp) / "trained")["onnx"])
        for backend, runtime in runtimes.items():
            moving, settled = block_times(runtime, True) * 1000, block_times(runtime, False) * 1000
            print(f"| {backend} | {np.median(decode_times(runtime)) * 1000:.2f} | {np.median(moving):.2f} / "
                  f"{np.percentile(moving, 99):.2f} | {hop_ms / np.median(moving):.0f}x | {np.median(settled):.2f} | "
                  f"{hop_ms / np.median(settled):.0f}x |")
        print(f"\nlatency on {'the trained model ' + args.ckpt if args.ckpt else 'random weights'}")
        print("\n| smoothing (ms) | change -> first audible sample (ms) | change -> 90% of the new timbre (ms) |"
              " worst case live (ms): + 1 block wait + 1 block device buffer + block time |")
        print("|---|---|---|---|")
        for smoothing in (0.0, 40.0):
            first, settle = change_latency(latency_runtime, smoothing)
            live = first + 2 * hop_ms + float(np.median(block_times(runtimes["onnx"], True))) * 1000
            print(f"| {smoothing:.0f} | {first:.1f} | {settle:.1f} | {live:.1f} |")


if __name__ == "__main__":
    main()
