"""Benchmark common.spectral against librosa and torchaudio: STFT magnitude and 128-band mel.

    .venv/bin/python bench/spectral.py [--repeats 5]

One process, one input: 16 ten-second clips at 22050 Hz (harmonic tones plus noise, fixed seed),
n_fft 2048, hop 512, 128 mels, centred frames with zero padding (librosa's default; torchaudio is
configured to compute the same thing). Each timing is the median of ``--repeats`` runs after a warm-up,
the implementations taking turns. CPU runs twice: with torch's default thread count and with one
thread (a per-core comparison with single-threaded librosa, and robust to a busy machine).
librosa runs twice: looping over the 16 clips (the usual user code) and on the (16, samples) array at
once (librosa accepts multi-dimensional input). CUDA rows are added when a GPU is present.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import librosa
import numpy as np
import torch
import torchaudio

from common.spectral import mel_spectrogram, spectrogram

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


def median_seconds(impls, repeats: int, device: torch.device) -> tuple[list[float], list]:
    """Median wall time of each callable; the repeats go round-robin so load changes hit all alike."""

    def run(fn):
        start = time.perf_counter()
        out = fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter() - start, out

    outputs = [run(fn)[1] for _, fn in impls]  # warm-up: caches, FFT plans, numba, CUDA context
    times = [[] for _ in impls]
    for _ in range(repeats):
        for i, (_, fn) in enumerate(impls):
            times[i].append(run(fn)[0])
    return [statistics.median(t) for t in times], outputs


def as_numpy(result) -> np.ndarray:
    return result.cpu().numpy() if isinstance(result, torch.Tensor) else np.asarray(result)


def candidates(device: torch.device, clips: np.ndarray):
    """{operation: [(implementation, callable)]}, ours first."""
    x = torch.from_numpy(clips).to(device)
    ta_spec = torchaudio.transforms.Spectrogram(N_FFT, hop_length=HOP, power=1.0, pad_mode="constant").to(device)
    ta_mel = torchaudio.transforms.MelSpectrogram(
        SAMPLE_RATE, N_FFT, hop_length=HOP, n_mels=N_MELS, pad_mode="constant", norm="slaney", mel_scale="slaney"
    ).to(device)
    table = {
        "stft magnitude": [
            ("ours", lambda: spectrogram(x, N_FFT, HOP)),
            ("torchaudio Spectrogram", lambda: ta_spec(x)),
        ],
        f"mel {N_MELS}": [
            ("ours", lambda: mel_spectrogram(x, SAMPLE_RATE, N_FFT, HOP, N_MELS)),
            ("torchaudio MelSpectrogram", lambda: ta_mel(x)),
        ],
    }
    if device.type == "cpu":
        def lib_mag(y):
            return np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP))

        def lib_mel(y):
            return librosa.feature.melspectrogram(y=y, sr=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS)

        for op, fn in (("stft magnitude", lib_mag), (f"mel {N_MELS}", lib_mel)):
            table[op] += [
                (f"librosa loop x{CLIPS}", lambda fn=fn: np.stack([fn(clip) for clip in clips])),
                ("librosa 2-D batch", lambda fn=fn: fn(clips)),
            ]
    return table


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    clips = make_clips()
    configs = [("cpu", torch.get_num_threads()), ("cpu", 1)] + ([("cuda", None)] if torch.cuda.is_available() else [])
    print(f"input {clips.shape} float32 @ {SAMPLE_RATE} Hz, n_fft {N_FFT}, hop {HOP}, {N_MELS} mels; "
          f"torch {torch.__version__}, torchaudio {torchaudio.__version__}, librosa {librosa.__version__}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    header = (f"{'device':<9}{'operation':<16}{'implementation':<27}"
              f"{'median s':>10}{'ours / ref':>12}{'max rel diff':>14}")
    print(header)
    print("-" * len(header))
    for device_type, threads in configs:
        device = torch.device(device_type)
        if threads:
            torch.set_num_threads(threads)
        label = f"cpu x{threads}" if threads else device_type
        for op, impls in candidates(device, clips).items():
            seconds, outputs = median_seconds(impls, args.repeats, device)
            ours = as_numpy(outputs[0])
            print(f"{label:<9}{op:<16}{'ours':<27}{seconds[0]:>10.4f}")
            for (name, _), secs, out in zip(impls[1:], seconds[1:], outputs[1:]):
                diff = np.abs(as_numpy(out) - ours).max() / np.abs(ours).max()
                print(f"{'':<9}{'':<16}{name:<27}{secs:>10.4f}{seconds[0] / secs:>12.2f}{diff:>14.1e}")
    print(f"load average at the end {os.getloadavg()[0]:.1f}; cpu xN = torch intra-op threads "
          "(librosa never uses them)")


if __name__ == "__main__":
    main()
