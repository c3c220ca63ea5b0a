"""Griffin-Lim benchmark: common.griffinlim vs librosa.griffinlim and torchaudio.transforms.GriffinLim.

Inputs: a batch of 8 ten-second clips rendered from random MIDI by ``common.corpora.render.render_midi``
(TimGM6mb soundfont, 22.05 kHz), and its first clip alone; magnitude STFT n_fft 2048, hop 512, Hann, centred
(librosa's defaults); all methods use momentum 0.99 and float32 on the CPU. First the spectral convergence
``SC = 20 log10(|| |STFT(y)| - A ||_F / ||A||_F)`` (dB, lower is better) of every method at 32 and 100
iterations: the mean of the 8 per-clip SCs, the worst clip (the highest per-clip SC, i.e. the clip that
converged least), and SC of the whole batch as one array (dominated by the loudest clip). Then the time at
32 iterations for each thread count (torch intra-op and numpy BLAS threads both set to it): best of
``--rounds`` runs in one process, the methods taking turns. The ratio lines, last, are ours / the faster of
librosa and torchaudio (<= 1: ours is at least as fast).

    .venv/bin/python bench/griffinlim.py [--rounds 3] [--threads 1 2]
"""

import argparse

import librosa
import numpy as np
import pretty_midi
import torch
import torchaudio
from timing import best_of, load_average, threads

from common.corpora.render import render_midi
from common.griffinlim import griffinlim
from common.spectral import stft

SR, N_FFT, HOP, SECONDS, BATCH = 22050, 2048, 512, 10, 8
PROGRAMS = [0, 4, 24, 40, 56, 65, 73, 19]  # piano, e-piano, guitar, violin, trumpet, sax, flute, organ


def render_clips(seed: int = 0) -> np.ndarray:
    """(BATCH, SECONDS * SR) float32: random melodies with chords, one GM program per clip."""
    rng = np.random.default_rng(seed)
    clips = []
    for program in PROGRAMS[:BATCH]:
        midi, inst, start = pretty_midi.PrettyMIDI(), pretty_midi.Instrument(program=program), 0.0
        while start < SECONDS:
            step = float(rng.choice([0.125, 0.25, 0.5]))
            for pitch in rng.choice(np.arange(45, 86), size=int(rng.integers(1, 4)), replace=False):
                inst.notes.append(pretty_midi.Note(int(rng.integers(60, 115)), int(pitch), start, start + 1.5 * step))
            start += step
        midi.instruments.append(inst)
        clips.append(render_midi(midi, SR, tail=0.0)[: SECONDS * SR])
    return np.stack(clips)


def spectral_convergence_db(y, target: torch.Tensor) -> tuple[float, float, float]:
    """SC in dB: (mean of the per-clip SCs, the worst clip's SC = the highest per-clip SC, SC of the whole
    batch as one array)."""
    estimate = stft(torch.as_tensor(y, dtype=torch.float64), N_FFT, HOP).abs()
    target = target.double()
    error, reference = (torch.linalg.norm(a, dim=(-2, -1)) for a in (estimate - target, target))
    per_clip = 20 * torch.log10(error / reference)
    batch = 20 * torch.log10(torch.linalg.norm(estimate - target) / torch.linalg.norm(target))
    return float(per_clip.mean()), float(per_clip.max()), float(batch)


def methods(target: torch.Tensor, length: int) -> dict:
    """name -> function(n_iter) returning waveforms (clips, length)."""
    seed = torch.Generator().manual_seed(0)

    def torchaudio_gl(n_iter):
        transform = torchaudio.transforms.GriffinLim(N_FFT, n_iter=n_iter, hop_length=HOP, power=1.0, length=length)
        return transform(target)

    return {
        "ours (PGHI init)": lambda n: griffinlim(target, power=1, hop_length=HOP, n_iter=n, length=length),
        "ours (random init)": lambda n: griffinlim(target, power=1, hop_length=HOP, n_iter=n, init="random",
                                                   length=length, generator=seed),
        "librosa": lambda n: librosa.griffinlim(target.numpy(), n_iter=n, hop_length=HOP, n_fft=N_FFT, length=length,
                                                random_state=0),
        "torchaudio": torchaudio_gl,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    clips = torch.from_numpy(render_clips())
    length = clips.shape[-1]
    target = stft(clips, N_FFT, HOP).abs()
    print(f"## Griffin-Lim, {BATCH} x {SECONDS} s soundfont clips, {SR} Hz, n_fft {N_FFT}, hop {HOP}, CPU; "
          f"{load_average()} at start\n")
    print(f"Spectral convergence, all {BATCH} clips at once, 1 thread:\n")
    print("| method | SC 32 it (dB): mean over clips / worst clip / whole batch | SC 100 it (dB): same three |")
    print("|---|---|---|")
    with threads(1):
        for name, run in methods(target, length).items():
            quality = " | ".join(" / ".join(f"{v:.1f}" for v in spectral_convergence_db(run(n), target))
                                 for n in (32, 100))
            print(f"| {name} | {quality} |")
    print(f"\nTime at 32 iterations (s), best of {args.rounds} alternating runs, every method on the same "
          "torch threads and numpy BLAS threads:\n")
    print("| threads | input | " + " | ".join(methods(target, length)) + " |")
    print("|---|---|" + "---|" * len(methods(target, length)))
    ratios = []
    for n_threads in args.threads:
        with threads(n_threads):
            for label, spec in ((f"{BATCH} x {SECONDS} s", target), (f"1 x {SECONDS} s", target[:1])):
                runs = methods(spec, length)
                for run in runs.values():
                    run(1)  # warm-up: numba compilation/cache, FFT plans
                best = best_of({name: lambda run=run: run(32) for name, run in runs.items()}, args.rounds,
                               warmup=False)
                print(f"| {n_threads} | {label} | " + " | ".join(f"{best[name]:.2f}" for name in runs) + " |")
                reference = min(("librosa", "torchaudio"), key=best.get)
                for ours in ("ours (PGHI init)", "ours (random init)"):
                    ratios.append((n_threads, label, ours, best[ours] / best[reference], reference))
    print(f"\n{load_average()} at the end")
    for n_threads, label, ours, ratio, reference in ratios:
        print(f"ratio {ours} / fastest reference, {n_threads} thread(s), {label}: {ratio:.2f} ({reference})")


if __name__ == "__main__":
    main()
