"""WaveNet generation speed: incremental engine vs a naive generator, and the fused kernel on a GPU.

    python bench/wavenet.py [--steps 200] [--naive-steps 2] [--batches 1 32] [--threads N]

CPU: samples/s of ``IncrementalGenerator`` (torch engine) and of naive generation, which reruns the
offline forward pass over one receptive field per sample (the steady-state cost of ``naive_generate``),
at the paper size (4 x 14 layers, 128/128 channels, receptive field ~65k samples) and a small size.
The naive generator is timed on a few steps only; when ``batch * receptive field`` exceeds
``--naive-samples`` it runs on a shorter window and its time is scaled linearly to the full window
(convolution cost is linear in length); the output says so. GPU (when present): samples/s of the fused
Triton kernel and the real-time factor at 16 kHz. Same process, same inputs, one run each.
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from common.wavenet import IncrementalGenerator, WaveNetDecoder, sample_codes, uniform_noise

SIZES = {
    "paper": dict(n_blocks=4, n_layers=14, residual_channels=128, skip_channels=128, cond_channels=64),
    "small": dict(n_blocks=2, n_layers=8, residual_channels=32, skip_channels=32, cond_channels=16),
}
SAMPLE_RATE = 16000


def incremental_rate(gen: IncrementalGenerator, batch: int, steps: int) -> float:
    """Samples/s (all streams) of ``gen`` in steady state, one latent frame per call."""
    state = gen.start(batch)
    cond = torch.randn(batch, gen.cond_channels, 1, device=gen.device)
    gen.generate(state, cond, n_samples=10)  # warm-up (and kernel compilation on a GPU)
    done, start = 0, time.perf_counter()
    while done < steps:
        n = min(steps - done, gen.cond_hop - state.t % gen.cond_hop)
        gen.generate(state, cond, n_samples=n)
        done += n
    if gen.device.type == "cuda":
        torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - start)


@torch.no_grad()
def naive_rate(dec: WaveNetDecoder, batch: int, steps: int, max_samples: int) -> tuple[float, int]:
    """Samples/s of naive generation in steady state and the window length actually timed."""
    full = dec.receptive_field + 1
    window = min(full, max(max_samples // batch, 256))
    codes = torch.randint(0, dec.n_classes, (batch, window))
    cond = torch.randn(batch, dec.cond_channels, -(-window // dec.cond_hop))
    noise = uniform_noise(0, 0, steps, batch)
    start = time.perf_counter()
    for t in range(steps):
        sample_codes(dec(codes, cond)[..., -1], noise[t], 1.0)
    seconds_per_step = (time.perf_counter() - start) / steps * full / window
    return batch / seconds_per_step, window


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200, help="timed steps of the incremental engine")
    parser.add_argument("--naive-steps", type=int, default=2, help="timed steps of the naive generator")
    parser.add_argument("--naive-samples", type=int, default=2**16,
                        help="cap on batch x window for one naive step (beyond: shorter window, scaled)")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"CPU: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start (shared machine: "
          f"numbers are noisy); naive on {torch.get_num_threads()} torch threads, incremental on 1 "
          f"(IncrementalGenerator's cpu_threads default)")
    print(f"{'size':6} {'batch':>5} {'incremental/s':>14} {'naive/s':>10} {'ratio':>9}  naive timing")
    for name, cfg in SIZES.items():
        dec = WaveNetDecoder(**cfg).eval()
        gen = IncrementalGenerator(dec, backend="torch")
        for batch in args.batches:
            fast = incremental_rate(gen, batch, args.steps)
            slow, window = naive_rate(dec, batch, args.naive_steps, args.naive_samples)
            full = dec.receptive_field + 1
            how = (f"{args.naive_steps} steps on the full {full}-sample window" if window == full else
                   f"{args.naive_steps} steps on a {window}-sample window, scaled x{full / window:.1f} "
                   f"to the {full}-sample receptive field")
            print(f"{name:6} {batch:5d} {fast:14.1f} {slow:10.3f} {fast / slow:8.0f}x  {how}")
    if not torch.cuda.is_available():
        print("GPU: no CUDA device; fused-kernel numbers skipped")
        return
    print(f"GPU: {torch.cuda.get_device_name()}  (fused Triton kernel; real-time factor at {SAMPLE_RATE} Hz)")
    print(f"{'size':6} {'batch':>5} {'kernel/s':>12} {'torch eng/s':>12} {'x RT/stream':>12} {'x RT total':>11}")
    for name, cfg in SIZES.items():
        dec = WaveNetDecoder(**cfg).eval().cuda()
        kernel = IncrementalGenerator(dec, backend="triton")
        engine = IncrementalGenerator(dec, backend="torch")
        for batch in (*args.batches, 128):
            rate = incremental_rate(kernel, batch, max(args.steps, 2000))
            base = incremental_rate(engine, batch, args.steps)
            print(f"{name:6} {batch:5d} {rate:12.0f} {base:12.0f} {rate / batch / SAMPLE_RATE:12.3f} "
                  f"{rate / SAMPLE_RATE:11.2f}")


if __name__ == "__main__":
    main()
