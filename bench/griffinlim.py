"""Griffin-Lim benchmark: common.griffinlim vs librosa.griffinlim and torchaudio.transforms.GriffinLim.

Inputs: a batch of 8 ten-second clips rendered from random MIDI by ``common.corpora.render.render_midi``
(TimGM6mb soundfont, 22.05 kHz), magnitude STFT n_fft 2048, hop 512, Hann, centred (librosa's defaults);
all methods use momentum 0.99 and float32 on the CPU. Prints the time at 32 iterations (best of 5, same
process, interleaved runs) with torch's default threads and with one thread (steadier on a shared CPU; librosa
is single-threaded either way) as ``ours / reference`` ratios, and the spectral convergence
``SC = 20 log10(|| |STFT(y)| - A ||_F / ||A||_F)`` (dB, lower is better) of every method at 32 and 100
iterations: the mean of the 8 per-clip SCs, the worst clip (the highest per-clip SC, i.e. the clip that
converged least), and SC of the whole batch as one array (dominated by the loudest clip).

    .venv/bin/python bench/griffinlim.py
"""

import time

import librosa
import numpy as np
import pretty_midi
import torch
import torchaudio

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
    """name -> function(n_iter) returning waveforms (BATCH, length)."""
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


def best_times(runs: dict, rounds: int = 5) -> tuple[dict, dict]:
    """Best wall time at 32 iterations of each method over interleaved rounds, and its last output."""
    times, outputs = {name: [] for name in runs}, {}
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            outputs[name] = run(32)
            times[name].append(time.perf_counter() - start)
    return {name: min(values) for name, values in times.items()}, outputs


def main() -> None:
    clips = torch.from_numpy(render_clips())
    target = stft(clips, N_FFT, HOP).abs()
    runs = methods(target, clips.shape[-1])
    for run in runs.values():
        run(1)  # warm-up: numba compilation/cache, FFT plans
    default_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    best_1, _ = best_times(runs)
    torch.set_num_threads(default_threads)
    best, outputs = best_times(runs)
    print(f"## Griffin-Lim, {BATCH} x {SECONDS} s soundfont clips, {SR} Hz, n_fft {N_FFT}, hop {HOP}, CPU\n")
    print(f"| method | {default_threads} torch threads: time at 32 it (s) | / librosa | / torchaudio "
          "| 1 torch thread: time (s) | / librosa | / torchaudio "
          "| SC 32 it (dB): mean over clips / worst clip / whole batch | SC 100 it (dB): same three |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, run in runs.items():
        sc32, sc100 = spectral_convergence_db(outputs[name], target), spectral_convergence_db(run(100), target)
        timing = " | ".join(f"{b[name]:.2f} | {b[name] / b['librosa']:.3f} | {b[name] / b['torchaudio']:.3f}"
                            for b in (best, best_1))
        quality = " | ".join(" / ".join(f"{v:.1f}" for v in sc) for sc in (sc32, sc100))
        print(f"| {name} | {timing} | {quality} |")

if __name__ == "__main__":
    main()
