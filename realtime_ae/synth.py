"""Offline uses of the synthesizer: render a scripted latent trajectory, and resynthesise a recording
through the autoencoder with latent scaling (as the reference GUI does)."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import numpy as np
import torch

from common.audio import load_audio
from common.errors import InputError
from common.spectral import istft, stft
from realtime_ae import features
from realtime_ae.engine import SynthEngine
from realtime_ae.module import FrameAutoencoder
from realtime_ae.runtime import DecoderRuntime

log = logging.getLogger(__name__)

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def make_engine(runtime: DecoderRuntime, synth) -> SynthEngine:
    m = runtime.meta
    return SynthEngine(runtime.decode, m["bottleneck"], m["sample_rate"], m["n_fft"], m["hop_length"],
                       phase=synth.phase, smoothing_ms=synth.smoothing_ms, volume=synth.volume, seed=synth.seed,
                       frames_per_decode=synth.frames_per_decode)


def pitch_class(value: str, where: str) -> int:
    value = value.strip()
    if value.upper() in NOTE_NAMES:
        return NOTE_NAMES.index(value.upper())
    try:
        return int(value) % 12
    except ValueError:
        raise InputError(f"{where}: chroma {value!r} is neither a note name (C, C#, ..., B) nor 0-11") from None


def read_trajectory(path: str | Path, bottleneck: int) -> list[dict]:
    """CSV with a header ``time,z0,...,z<L-1>,chroma[,volume]`` (seconds, latent values, note name or 0-11,
    0-1) -> rows sorted by time."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such trajectory file")
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        needed = ["time", *(f"z{i}" for i in range(bottleneck)), "chroma"]
        missing = [c for c in needed if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"{path}: missing column(s) {', '.join(missing)}; the header must be "
                             f"{','.join(needed)}[,volume] for this {bottleneck}-unit decoder")
        rows = []
        for n, row in enumerate(reader, start=2):
            try:
                rows.append({"time": float(row["time"]), "z": [float(row[f"z{i}"]) for i in range(bottleneck)],
                             "chroma": pitch_class(row["chroma"], f"{path}:{n}"),
                             "volume": float(row["volume"]) if row.get("volume") not in (None, "") else None})
            except ValueError:
                raise InputError(f"{path}:{n}: time, z* and volume must be numbers") from None
    if not rows:
        raise InputError(f"{path}: has a header but no rows")
    return sorted(rows, key=lambda r: r["time"])


def render_trajectory(engine: SynthEngine, rows: list[dict], tail: float = 0.5) -> np.ndarray:
    """Run the engine block by block; each row's values become the targets from its time on."""
    seconds_per_block = engine.hop / engine.sample_rate
    blocks = int(np.ceil((rows[-1]["time"] + tail) / seconds_per_block))
    out, k = [], 0
    for b in range(blocks):
        while k < len(rows) and rows[k]["time"] <= b * seconds_per_block:
            engine.set_latent(rows[k]["z"])
            engine.set_chroma(rows[k]["chroma"])
            if rows[k]["volume"] is not None:
                engine.set_volume(rows[k]["volume"])
            k += 1
        out.append(engine.next_block())
    return np.concatenate(out)


@torch.no_grad()
def resynthesise(module: FrameAutoencoder, path: str | Path, latent_scale: float = 1.0) -> tuple[np.ndarray, int]:
    """Encode every frame of ``path``, scale the latents, decode with each frame's chroma, restore the frame
    peaks and invert with the file's own phase (silent frames stay silent) -> (audio, sample_rate)."""
    f = module.hparams.features
    sr, n_fft, hop = f["sample_rate"], f["n_fft"], f["hop_length"]
    audio = load_audio(path, sr)
    if len(audio) < n_fft:
        raise InputError(f"{path}: {len(audio) / sr:.3f} s is shorter than one {n_fft}-sample frame")
    spec = stft(torch.from_numpy(audio), n_fft, hop).T  # (frames, bins)
    frames, peaks, kept = features.normalise_frames(spec.abs(), features.silence_floor(n_fft, -70.0))
    if not kept.any():
        raise InputError(f"{path}: is silent (no frame above -70 dB); nothing to resynthesise")
    chroma = features.onehot(features.chroma_class(frames, sr))
    z, _ = module.net.encode(frames, chroma)
    decoded = module.net.decoder(z * latent_scale, chroma) * peaks[:, None]
    mags = torch.zeros(spec.shape, dtype=torch.float32)
    mags[kept] = decoded
    out = istft(torch.polar(mags.T.contiguous(), torch.angle(spec).T.contiguous()), n_fft, hop, length=len(audio))
    return out.numpy(), sr

