"""Real-time synth benchmark: the paper-size 8-unit decoder (8 + 12 -> 16 ... 1024 -> 2049 bins), exported to
numpy, TorchScript, ONNX and ONNX with int8 weights, driving the synth engine on one CPU thread (torch,
onnxruntime and BLAS all limited to one thread).

Prints, per backend, the time per 1024-sample block (decode + phase + inverse FFT + overlap-add) while a slider
moves (a frame decoded every block) and once it has settled (the decoded frame reused), against the hop
duration (23.2 ms at 44.1 kHz) as a real-time factor (hop time / block time; the issue's target is >= 50x),
both as wall-clock time and as the CPU time of the benchmarking thread (on a shared machine the wall clock also
counts the time other processes hold the core; the CPU time is what the block costs),
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
from threadpoolctl import threadpool_limits

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


def timed(step, rounds: int = BLOCKS) -> tuple[np.ndarray, np.ndarray]:
    """(wall seconds, thread CPU seconds) of each of ``rounds`` calls of ``step(i)``."""
    wall, cpu = np.empty(rounds), np.empty(rounds)
    for i in range(rounds):
        w0, c0 = time.perf_counter(), time.thread_time()
        step(i)
        wall[i], cpu[i] = time.perf_counter() - w0, time.thread_time() - c0
    return wall, cpu


def block_times(runtime: DecoderRuntime, moving: bool) -> tuple[np.ndarray, np.ndarray]:
    """Seconds per engine block over BLOCKS blocks: a new random latent every block (``moving``: every block
    decodes a frame) or a settled latent (the decoded frame is reused)."""
    engine = SynthEngine(runtime.decode, 8, SR, N_FFT, HOP)
    rng = np.random.default_rng(0)
    engine.set_latent(rng.random(8))
    engine.render(200)  # warm up and settle
    latents = rng.random((BLOCKS, 8))

    def step(i):
        if moving:
            engine.set_latent(latents[i])
        engine.next_block()

    return timed(step)


def decode_times(runtime: DecoderRuntime) -> tuple[np.ndarray, np.ndarray]:
    z, c = np.random.default_rng(0).random(8).astype(np.float32), np.eye(12, dtype=np.float32)[3]
    return timed(lambda i: runtime.decode(z, c))


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
    threadpool_limits(1)
    hop_ms = 1000 * HOP / SR
    print(f"load average {os.getloadavg()[0]:.2f}; hop {HOP} samples = {hop_ms:.1f} ms; one thread\n")
    print("| backend | decoder call: wall / CPU (ms) | block, slider moving: wall median / p99, CPU median (ms) | "
          "real-time factor: wall / CPU | block, settled: wall / CPU (ms) | real-time factor: wall / CPU |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        paths = export_decoder(paper_module(), tmp)
        runtimes = {b: DecoderRuntime(paths[b]) for b in ("numpy", "int8", "torchscript", "onnx")}
        latency_runtime = runtimes["numpy"]
        if args.ckpt:
            from realtime_ae.module import load_model

            trained = load_model(args.ckpt)
            if trained.hparams.model["bottleneck"] != 8:
                parser.error(f"--ckpt {args.ckpt}: needs an 8-unit model")
            latency_runtime = DecoderRuntime(export_decoder(trained, Path(tmp) / "trained")["numpy"])
        moving_numpy = None
        for backend, runtime in runtimes.items():
            decode = [1000 * np.median(t) for t in decode_times(runtime)]
            (moving, moving_cpu), (settled, settled_cpu) = (
                [1000 * t for t in block_times(runtime, m)] for m in (True, False))
            moving_numpy = moving_numpy if moving_numpy is not None else moving
            print(f"| {backend} | {decode[0]:.2f} / {decode[1]:.2f} | {np.median(moving):.2f} / "
                  f"{np.percentile(moving, 99):.2f}, {np.median(moving_cpu):.2f} | "
                  f"{hop_ms / np.median(moving):.0f}x / {hop_ms / np.median(moving_cpu):.0f}x | "
                  f"{np.median(settled):.2f} / {np.median(settled_cpu):.2f} | "
                  f"{hop_ms / np.median(settled):.0f}x / {hop_ms / np.median(settled_cpu):.0f}x |")
        rng = np.random.default_rng(1)
        z, c = rng.random((256, 8)).astype(np.float32), np.eye(12, dtype=np.float32)[np.arange(256) % 12]
        exact = runtimes["numpy"].decode(z, c)
        error = np.abs(runtimes["int8"].decode(z, c) - exact) / exact.max()
        print(f"\nint8 decoder vs float, 256 random latents: max error {error.max():.1%}, mean {error.mean():.2%} of "
              "the output peak")
        print(f"\nlatency on {'the trained model ' + args.ckpt if args.ckpt else 'random weights'}")
        print("\n| smoothing (ms) | change -> first audible sample (ms) | change -> 90% of the new timbre (ms) |"
              " worst case live (ms): + 1 block wait + 1 block device buffer + block time (numpy, wall) |")
        print("|---|---|---|---|")
        for smoothing in (0.0, 40.0):
            first, settle = change_latency(latency_runtime, smoothing)
            live = first + 2 * hop_ms + float(np.median(moving_numpy))
            print(f"| {smoothing:.0f} | {first:.1f} | {settle:.1f} | {live:.1f} |")


if __name__ == "__main__":
    main()
