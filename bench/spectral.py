"""Benchmark common.spectral against librosa and torchaudio: STFT magnitude, 128-band mel, ISTFT, log(1 + |S|).

    .venv/bin/python bench/spectral.py [--rounds 5] [--threads 1 2]

Inputs: 16 ten-second clips at 22050 Hz (harmonic tones plus noise, fixed seed) as one batch, and the first
clip alone; n_fft 2048, hop 512, 128 mels, centred frames with zero padding (librosa's default; torchaudio is
configured to compute the same thing). For each thread count (torch intra-op threads and the BLAS threads of
librosa's numpy, both set to it) the candidates of an operation take turns for ``--rounds`` rounds in one
process after a warm-up, and each keeps its best time. References: torchaudio's transforms, librosa on the
array (it accepts a 2-D batch), and for the batch librosa looping over the clips; for log(1 + |S|) of the
magnitudes, torch's and numpy's ``log1p``. The ratio lines, last, are
ours / the fastest reference: <= 1 means ours is at least as fast.
"""

from __future__ import annotations

import argparse

import librosa
import numpy as np
import torch
import torchaudio
from timing import best_of, load_average, threads

from common.filterbanks import mel_spectrogram
from common.spectral import istft, log_one_plus, spectrogram, stft

SAMPLE_RATE, N_FFT, HOP, N_MELS = 22050, 2048, 512, 128
CLIPS, SECONDS = 16, 10.0


def make_clips() -> np.ndarray:
    """(16, 220500) float32: clip i is a 6-partial tone on pitch 45 + 2i (MIDI) plus white noise."""
    rng = np.random.default_rng(0)
    t = np.arange(int(SECONDS * SAMPLE_RATE)) / SAMPLE_RATE
    clips = []
    for i in range(CLIPS):
        f0 = 440.0 * 2 ** ((45 + 2 * i - 69) / 12)
        tone = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 7))
        clips.append(0.2 * tone + 0.02 * rng.standard_normal(t.size))
    return np.stack(clips).astype(np.float32)


def candidates(y: np.ndarray) -> dict:
    """{operation: {implementation: callable}} on the waveform(s) ``y`` (..., samples), ours first."""
    x = torch.from_numpy(y)
    S = stft(x, N_FFT, HOP)
    S_np, length = S.numpy(), y.shape[-1]
    M = S.abs()
    M_np = M.numpy()
    ta_spec = torchaudio.transforms.Spectrogram(N_FFT, hop_length=HOP, power=1.0, pad_mode="constant")
    ta_mel = torchaudio.transforms.MelSpectrogram(
        SAMPLE_RATE, N_FFT, hop_length=HOP, n_mels=N_MELS, pad_mode="constant", norm="slaney", mel_scale="slaney")
    ta_inverse = torchaudio.transforms.InverseSpectrogram(N_FFT, hop_length=HOP)

    def lib_mag(clip):
        return np.abs(librosa.stft(clip, n_fft=N_FFT, hop_length=HOP))

    def lib_mel(clip):
        return librosa.feature.melspectrogram(y=clip, sr=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS)

    def lib_istft(spec):
        return librosa.istft(spec, hop_length=HOP, length=length)

    table = {
        "stft magnitude": {"ours": lambda: spectrogram(x, N_FFT, HOP), "torchaudio": lambda: ta_spec(x),
                           "librosa": lambda: lib_mag(y)},
        f"mel {N_MELS}": {"ours": lambda: mel_spectrogram(x, SAMPLE_RATE, N_FFT, HOP, N_MELS),
                          "torchaudio": lambda: ta_mel(x), "librosa": lambda: lib_mel(y)},
        "istft": {"ours": lambda: istft(S, N_FFT, HOP, length=length),
                  "torchaudio": lambda: ta_inverse(S, length), "librosa": lambda: lib_istft(S_np)},
        "log(1 + |S|)": {"ours": lambda: log_one_plus(M), "torch.log1p": lambda: torch.log1p(M),
                         "numpy log1p": lambda: np.log1p(M_np)},
    }
    if y.ndim > 1:
        for (op, fn), data in zip([("stft magnitude", lib_mag), (f"mel {N_MELS}", lib_mel), ("istft", lib_istft)],
                                  [y, y, S_np]):
            table[op][f"librosa loop x{len(y)}"] = lambda fn=fn, data=data: np.stack([fn(item) for item in data])
    return table


def max_relative_difference(a, b) -> float:
    a, b = (v.numpy() if isinstance(v, torch.Tensor) else np.asarray(v) for v in (a, b))
    return float(np.abs(a - b).max() / np.abs(b).max())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    clips = make_clips()
    inputs = {f"{CLIPS} x {SECONDS:.0f} s": clips, f"1 x {SECONDS:.0f} s": clips[0]}
    print(f"n_fft {N_FFT}, hop {HOP}, {N_MELS} mels, float32 @ {SAMPLE_RATE} Hz, CPU; torch {torch.__version__}, "
          f"torchaudio {torchaudio.__version__}, librosa {librosa.__version__}; best of {args.rounds} "
          f"alternating runs; {load_average()} at start\n")
    header = f"{'threads':>7}  {'input':<11}{'operation':<16}{'implementation':<18}{'best ms':>9}{'max rel diff':>14}"
    print(header)
    print("-" * len(header))
    ratios = []
    for n_threads in args.threads:
        with threads(n_threads):
            for label, y in inputs.items():
                for op, impls in candidates(y).items():
                    best = best_of(impls, args.rounds)
                    ours = impls["ours"]()
                    for name, fn in impls.items():
                        diff = "" if name == "ours" else f"{max_relative_difference(fn(), ours):14.1e}"
                        print(f"{n_threads:>7}  {label:<11}{op:<16}{name:<18}{best[name] * 1e3:9.1f}{diff}")
                    fastest = min((name for name in best if name != "ours"), key=best.get)
                    ratios.append((n_threads, label, op, best["ours"] / best[fastest], fastest))
    print(f"\n{load_average()} at the end")
    for n_threads, label, op, ratio, fastest in ratios:
        print(f"ratio ours / fastest reference, {n_threads} thread(s), {label}, {op}: {ratio:.2f} ({fastest})")


if __name__ == "__main__":
    main()
