"""WaveNet generation speed on the CPU: fused numba step vs the torch engine, and incremental vs naive.

    python bench/wavenet.py [--steps 200] [--rounds 3] [--batches 1 32] [--threads 1]

Paper size (4 x 14 layers, 128/128 channels, 64-d conditioning, receptive field ~65k samples) and a small
size. Every timing is the best of ``--rounds`` runs in which the candidates take turns, in one process, all
on ``--threads`` torch intra-op threads (the naive generator too). Table 1: samples/s (all streams) of
``IncrementalGenerator(backend="numba")`` (the CPU default) and ``backend="torch"`` in steady state.
Table 2: the torch engine against naive generation, which reruns the offline forward pass over one receptive
field per sample; when ``batch x receptive field`` exceeds ``--naive-samples`` the naive step runs on a
shorter window and its time is scaled linearly to the full window (the output says so: extrapolated).
The ratio lines come last.
"""

from __future__ import annotations

import argparse

import torch
from timing import best_of, load_average, threads

from common.wavenet import IncrementalGenerator, WaveNetDecoder, sample_codes, uniform_noise
from common.wavenet.cpu_step import TORCH_FROM_BATCH

SIZES = {
    "paper": dict(n_blocks=4, n_layers=14, residual_channels=128, skip_channels=128, cond_channels=64),
    "small": dict(n_blocks=2, n_layers=8, residual_channels=32, skip_channels=32, cond_channels=16),
}


def stepper(gen: IncrementalGenerator, batch: int, steps: int):
    """A function generating ``steps`` samples of ``batch`` streams, continuing one state (steady state)."""
    state = gen.start(batch)
    cond = torch.randn(batch, gen.cond_channels, 1, generator=torch.Generator().manual_seed(0))

    def run():
        done = 0
        while done < steps:
            n = min(steps - done, gen.cond_hop - state.t % gen.cond_hop)
            gen.generate(state, cond, n_samples=n)
            done += n
    return run


@torch.no_grad()
def naive_stepper(dec: WaveNetDecoder, batch: int, steps: int, max_samples: int):
    """A function running ``steps`` naive steps on a window of at most ``max_samples / batch`` samples,
    and the factor from that window to the full receptive field."""
    full = dec.receptive_field + 1
    window = min(full, max(max_samples // batch, 256))
    codes = torch.randint(0, dec.n_classes, (batch, window))
    cond = torch.randn(batch, dec.cond_channels, -(-window // dec.cond_hop))
    noise = uniform_noise(0, 0, steps, batch)

    def run():
        with torch.no_grad():
            for t in range(steps):
                sample_codes(dec(codes, cond)[..., -1], noise[t], 1.0)
    return run, full / window


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200, help="timed samples per stream per run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs per candidate (best kept)")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads for every candidate")
    parser.add_argument("--naive-steps", type=int, default=2, help="timed steps of the naive generator")
    parser.add_argument("--naive-samples", type=int, default=2**14,
                        help="cap on batch x window for one naive step (beyond: shorter window, scaled)")
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()
    torch.manual_seed(0)
    print(f"CPU, every candidate on {args.threads} torch thread(s), best of {args.rounds} alternating runs; "
          f"{load_average()} at start")
    print(f"the numba backend hands batches of {TORCH_FROM_BATCH}+ streams to the torch engine\n")
    print(f"{'size':6} {'batch':>5} {'numba/s':>10} {'torch/s':>10} {'numba / torch':>14}")
    fused_ratios, naive_rows = [], []
    with threads(args.threads):
        for name, cfg in SIZES.items():
            dec = WaveNetDecoder(**cfg).eval()
            gens = {backend: IncrementalGenerator(dec, backend=backend, cpu_threads=args.threads)
                    for backend in ("numba", "torch")}
            for batch in args.batches:
                steps = args.steps
                best = best_of({k: stepper(g, batch, steps) for k, g in gens.items()}, args.rounds)
                rate = {k: batch * steps / v for k, v in best.items()}
                print(f"{name:6} {batch:5d} {rate['numba']:10.0f} {rate['torch']:10.0f} "
                      f"{rate['numba'] / rate['torch']:13.2f}x")
                fused_ratios.append((name, batch, rate["numba"] / rate["torch"]))
                if not args.skip_naive:
                    naive, scale = naive_stepper(dec, batch, args.naive_steps, args.naive_samples)
                    naive_best = best_of({"naive": naive}, args.rounds, warmup=False)["naive"]
                    naive_rate = batch * args.naive_steps / (naive_best * scale)
                    naive_rows.append((name, batch, rate["torch"], naive_rate, scale, dec.receptive_field + 1))
    if naive_rows:
        print(f"\n{'size':6} {'batch':>5} {'torch eng/s':>12} {'naive/s':>10} {'ratio':>9}  naive timing")
        for name, batch, fast, slow, scale, full in naive_rows:
            how = (f"{args.naive_steps} steps on the full {full}-sample window" if scale == 1 else
                   f"EXTRAPOLATED: {args.naive_steps} steps on a {full / scale:.0f}-sample window, "
                   f"time x{scale:.1f} to the {full}-sample receptive field")
            print(f"{name:6} {batch:5d} {fast:12.0f} {slow:10.3f} {fast / slow:8.0f}x  {how}")
    print(f"\n{load_average()} at the end")
    for name, batch, ratio in fused_ratios:
        print(f"ratio numba step / torch engine (samples/s, higher is better), {name}, batch {batch}: {ratio:.2f}x")


if __name__ == "__main__":
    main()
