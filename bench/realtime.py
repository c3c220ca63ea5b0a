"""Real-time synth benchmark: the paper-size 8-unit decoder (8 + 12 -> 16 ... 1024 -> 2049 bins), exported to
numpy (float32 and float16 weights, "half"), TorchScript, ONNX and ONNX with int8 weights, driving the synth
engine on one CPU thread (torch, onnxruntime and BLAS all limited to one thread), against a reference on the same
inputs: the PyTorch decoder module and a torch.istft-style synthesis of the same block (torch.fft.irfft of
magnitude x the engine's noise phase, Hann synthesis window, overlap-add).

Per backend, the time per 1024-sample block (decode + phase + inverse FFT + overlap-add + smoothing) while a slider
moves (a new latent every block) and once it has settled (the decoded frame reused), as the mean over ``--blocks``
blocks, repeated ``--repeats`` times: the median and the minimum over the repeats (on a shared machine the
minimum is the least disturbed run), as wall-clock time and as the CPU time of the benchmarking thread (the wall
clock also counts the time other processes hold the core), back to back and paced at the hop duration as an
audio callback runs (between blocks the core runs other work, which evicts the decoder's weights from the
caches), against the hop duration (23.2 ms at 44.1 kHz) as a
real-time factor (hop time / block time; the issue's target is >= 50x), and ``ours / reference`` time ratios.
``K`` is the engine's ``frames_per_decode`` (``synth.frames_per_decode``): frames decoded per call; with K = 2 the
weights are read once per two blocks and a slider move waits up to one block (23.2 ms) longer.

Latency from a slider change to audible output, measured offline on the engine: two engines with the same noise
phase, one of which gets a new latent at block b (b and b + 1, the worst of both for K > 1); the first output
sample after the change that differs from the unchanged engine by more than -40 dB of the output RMS, and the time
until the difference reaches 90% of its final size (the parameter smoothing). End to end, a live slider adds at
most one block of waiting for the next audio callback and one block of device buffer (sounddevice, blocksize =
hop). Timing does not depend on the weights; the latency does (how much a slider move changes the sound), so pass
``--ckpt`` with a trained 8-unit model to measure it on that; without it the weights are random.

    .venv/bin/python bench/realtime.py [--repeats 7] [--blocks 200] [--paced-blocks 60] [--ckpt <8-unit last.ckpt>]
    taskset -c 1 .venv/bin/python bench/realtime.py    # pinned to one core
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
HOP_MS = 1000 * HOP / SR


def paper_module() -> FrameAutoencoder:
    model = dict(hidden=[1024, 512, 256, 128, 64, 32, 16], bottleneck=8, activation="sigmoid",
                 augmentation="chroma", skip=True, variational=False, beta=1.0)
    torch.manual_seed(0)
    return FrameAutoencoder(bins=2049, model=model, optim={"lr": 5e-4, "l2": 1e-7},
                            features={"sample_rate": SR, "n_fft": N_FFT, "hop_length": HOP}).eval()


class TorchReference:
    """The reference synthesis of one block: the PyTorch decoder on (z, chroma), times the engine's stored noise
    phase, torch.fft.irfft, the same synthesis window and overlap-add as the engine (an inverse STFT one frame at a
    time), at a constant volume and without smoothing (the engine with ``smoothing_ms=0``)."""

    def __init__(self, module: FrameAutoencoder, engine: SynthEngine):
        self.decoder = module.net.decoder
        self.engine = engine
        self.synthesis = torch.from_numpy(engine.synthesis)
        self.volume = engine.volume
        self.buffer = torch.zeros(N_FFT)
        self.index = 0

    def set_latent(self, z) -> None:
        self.z = torch.as_tensor(np.asarray(z, np.float32))[None]

    def next_block(self) -> torch.Tensor:
        with torch.inference_mode():
            magnitude = self.decoder(self.z, torch.eye(12)[:1])[0]
            phasor = torch.from_numpy(self.engine.noise_phasor(self.index))
            frame = torch.fft.irfft(magnitude * phasor, N_FFT) * self.synthesis
            self.buffer = torch.roll(self.buffer, -HOP)
            self.buffer[-HOP:] = 0.0
            self.buffer += frame
            self.index += 1
            return self.buffer[:HOP] * self.volume


def engine_for(runtime: DecoderRuntime, k: int, smoothing_ms: float = 40.0) -> SynthEngine:
    return SynthEngine(runtime.decode, 8, SR, N_FFT, HOP, smoothing_ms=smoothing_ms, frames_per_decode=k)


def block_times(synth, moving: bool, blocks: int, repeats: int, paced: bool = False) -> dict:
    """Mean wall and thread-CPU ms per block of each of ``repeats`` runs of ``blocks`` blocks (a new random latent
    every block if ``moving``; back to back, or one block per hop duration if ``paced``, as an audio callback runs),
    each block's wall ms, and the load average during the runs."""
    rng = np.random.default_rng(0)
    synth.set_latent(rng.random(8))
    for _ in range(100):  # warm up (and settle)
        synth.next_block()
    wall, cpu, each = [], [], []
    for _ in range(repeats):
        latents = rng.random((blocks, 8))
        start, cpu_sum = time.perf_counter(), 0.0
        for i in range(blocks):
            if paced:
                time.sleep(max(0.0, start + i * HOP_MS / 1000 - time.perf_counter()))
            b0, c0 = time.perf_counter(), time.thread_time()
            if moving:
                synth.set_latent(latents[i])
            synth.next_block()
            cpu_sum += time.thread_time() - c0
            each.append(time.perf_counter() - b0)
        wall.append(1000 * np.mean(each[-blocks:]))
        cpu.append(1000 * cpu_sum / blocks)
    return {"wall": np.array(wall), "cpu": np.array(cpu), "each": 1000 * np.array(each), "load": os.getloadavg()[0]}


def row(name: str, t: dict, reference: dict | None) -> str:
    wall, cpu = t["wall"], t["cpu"]
    ratio = "1"
    if reference:
        ratio = " / ".join(f"{np.median(t[k]) / np.median(reference[k]):.2f}" for k in ("wall", "cpu"))
    return (f"| {name} | {np.median(wall):.3f} / {wall.min():.3f} | {np.median(cpu):.3f} / {cpu.min():.3f} | "
            f"{np.percentile(t['each'], 99):.2f} | {HOP_MS / np.median(wall):.0f}x / {HOP_MS / wall.min():.0f}x | "
            f"{HOP_MS / np.median(cpu):.0f}x / {HOP_MS / cpu.min():.0f}x | {ratio} | {t['load']:.2f} |")


def output_difference(runtime: DecoderRuntime, module: FrameAutoencoder, k: int) -> float:
    """Max |engine - reference| over 60 blocks with latents that change every k blocks (so the engine, reading
    the target at each decode call, sees them when the reference does), relative to the output peak."""
    engine = engine_for(runtime, k, smoothing_ms=0.0)
    reference = TorchReference(module, engine)
    latents = np.random.default_rng(2).random((60, 8))
    ours, theirs = [], []
    for b in range(60):
        for synth in (engine, reference):
            synth.set_latent(latents[b - b % k])
        ours.append(engine.next_block())
        theirs.append(reference.next_block().numpy())
    ours, theirs = np.concatenate(ours), np.concatenate(theirs)
    return float(np.abs(ours - theirs).max() / np.abs(theirs).max())


def change_latency(runtime: DecoderRuntime, smoothing_ms: float, k: int) -> tuple[float, float]:
    """(ms from the change to the first audibly different sample, ms to 90% of the final difference), the worst
    over a change at each of the k positions within a decode batch."""
    first, settle = [], []
    for offset in range(k):
        engines = [engine_for(runtime, k, smoothing_ms) for _ in range(2)]
        for e in engines:
            e.set_latent(np.full(8, 0.3))
            e.render(40 + offset)
        engines[1].set_latent(np.full(8, 0.7))
        a, b = (e.render(60) for e in engines)
        diff = np.abs(b - a)
        rms = float(np.sqrt(np.mean(a**2)))
        first.append(int(np.argmax(diff > rms * 10 ** (-40 / 20))))
        envelope = np.sqrt(np.convolve(diff**2, np.ones(HOP) / HOP, mode="same"))
        settle.append(int(np.argmax(envelope >= 0.9 * envelope[-5 * HOP :].mean())))
    return 1000 * max(first) / SR, 1000 * max(settle) / SR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", help="a trained 8-unit realtime_ae checkpoint for the latency measurement")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per backend (median and min reported)")
    parser.add_argument("--blocks", type=int, default=200, help="blocks per timed run")
    parser.add_argument("--paced-blocks", type=int, default=60, help="blocks per paced run (23.2 ms each)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    threadpool_limits(1)
    cpus = sorted(os.sched_getaffinity(0))
    print(f"load average {os.getloadavg()[0]:.2f} (1 min) at the start; hop {HOP} samples = {HOP_MS:.1f} ms; one "
          f"thread; allowed CPUs {cpus}; {args.repeats} runs x {args.blocks} blocks per row\n")
    module = paper_module()
    with tempfile.TemporaryDirectory() as tmp:
        paths = export_decoder(module, tmp)
        runtimes = {b: DecoderRuntime(paths[b]) for b in ("numpy", "half", "int8", "torchscript", "onnx")}
        setups = [("numpy, K=1", "numpy", 1), ("numpy, K=2", "numpy", 2), ("half, K=1", "half", 1),
                  ("half, K=2", "half", 2), ("int8 ONNX, K=1", "int8", 1), ("TorchScript, K=1", "torchscript", 1),
                  ("ONNX, K=1", "onnx", 1)]
        titles = {(True, False): "slider moving (a new latent every block), blocks back to back",
                  (False, False): "slider settled (the decoded frame reused), blocks back to back",
                  (True, True): "slider moving, one block per hop duration (23.2 ms apart, as the audio callback "
                                f"runs; {args.paced_blocks} blocks per run)"}
        for moving, paced in titles:
            print(f"{titles[moving, paced]}, ms per block: median / min over runs of the mean per block\n")
            print("| backend | wall (ms) | thread CPU (ms) | p99 block wall (ms) | real-time factor, wall: median / "
                  "best | real-time factor, CPU | ours / reference time (medians): wall / CPU | load avg |")
            print("|---|---|---|---|---|---|---|---|")
            blocks = args.paced_blocks if paced else args.blocks
            reference = block_times(TorchReference(module, engine_for(runtimes["numpy"], 1, 0.0)), moving,
                                    blocks, args.repeats, paced)
            print(row("reference: PyTorch decoder + torch irfft/OLA", reference, None))
            for name, backend, k in setups[:5] if paced else setups if moving else setups[:1]:
                print(row(name, block_times(engine_for(runtimes[backend], k), moving, blocks, args.repeats, paced),
                          reference))
            print()
        for k in (1, 2):
            print(f"numpy engine (K={k}) vs the reference, 60 blocks of the same latents: max difference "
                  f"{output_difference(runtimes['numpy'], module, k):.1e} of the output peak")
        rng = np.random.default_rng(1)
        z, c = rng.random((256, 8)).astype(np.float32), np.eye(12, dtype=np.float32)[np.arange(256) % 12]
        exact = runtimes["numpy"].decode(z, c)
        for backend in ("half", "int8"):
            error = np.abs(runtimes[backend].decode(z, c) - exact) / exact.max()
            print(f"{backend} decoder vs float32, 256 random latents: max error {error.max():.1e}, mean "
                  f"{error.mean():.1e} of the output peak ({20 * np.log10(error.max()):.0f} dB)")
        latency_runtime = runtimes["numpy"]
        if args.ckpt:
            from realtime_ae.module import load_model

            trained = load_model(args.ckpt)
            if trained.hparams.model["bottleneck"] != 8:
                parser.error(f"--ckpt {args.ckpt}: needs an 8-unit model")
            latency_runtime = DecoderRuntime(export_decoder(trained, Path(tmp) / "trained")["numpy"])
        print(f"\nlatency on {'the trained model ' + args.ckpt if args.ckpt else 'random weights'} (numpy)\n")
        print("| K | smoothing (ms) | change -> first audible sample (ms) | change -> 90% of the new timbre (ms) |"
              " worst case live (ms): + 1 block wait + 1 block device buffer + 1 block time |")
        print("|---|---|---|---|---|")
        for k in (1, 2):
            for smoothing in (0.0, 40.0):
                first, settle = change_latency(latency_runtime, smoothing, k)
                print(f"| {k} | {smoothing:.0f} | {first:.1f} | {settle:.1f} | {first + 2 * HOP_MS + 1:.1f} |")


if __name__ == "__main__":
    main()
