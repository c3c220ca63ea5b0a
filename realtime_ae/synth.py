"""Offline uses of the synthesizer: render a scripted latent trajectory, and resynthesise a recording
through the autoencoder with latent scaling (as the reference GUI does)."""

from __future__ import annotations

import csv
import logging
import math
from pathlib import Path

import numpy as np
import torch

from common import checks
from common.audio import load_audio
from common.errors import InputError
from common.spectral import istft, stft
from realtime_ae import features
from realtime_ae.engine import SynthEngine
from realtime_ae.module import FrameAutoencoder
from realtime_ae.runtime import DecoderRuntime

log = logging.getLogger(__name__)

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def check_synth(synth) -> None:
    """The ``synth`` config section, each bad key one line (before any model is loaded)."""
    from realtime_ae.engine import PHASES

    if synth.phase not in PHASES:
        raise InputError(f"synth.phase={synth.phase!r}: use one of {', '.join(PHASES)}")
    if not isinstance(synth.frames_per_decode, int) or synth.frames_per_decode < 1:
        raise InputError(f"synth.frames_per_decode={synth.frames_per_decode}: a whole number of blocks, at least 1")
    checks.finite("synth.volume", synth.volume, 0.0, 1.0)
    checks.finite("synth.smoothing_ms", synth.smoothing_ms, 0.0, 10_000.0)
    checks.finite("synth.latent_scale", synth.latent_scale, 0.0, 100.0)


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


def _number(row: dict, column: str, where: str) -> float:
    try:
        value = float(row[column])
    except (TypeError, ValueError):
        raise InputError(f"{where}: {column}={row[column]!r} is not a number") from None
    if not math.isfinite(value):
        raise InputError(f"{where}: {column}={row[column]} is not a finite number; give a value in the latent range")
    return value


def read_trajectory(path: str | Path, meta: dict) -> list[dict]:
    """CSV with a header ``time,z0,...,z<L-1>,chroma[,volume]`` (seconds >= 0, latent values, note name or 0-11,
    0-1) for the exported decoder described by ``meta`` -> rows sorted by time. Every refusal is one line naming
    the file (and row): not a text CSV, a wrong header, a non-finite or negative value, a latent outside what a
    sigmoid bottleneck can give; a latent outside the training range is a warning."""
    bottleneck = meta["bottleneck"]
    path = checks.input_file(path, "trajectory", "CSV file")
    needed = ["time", *(f"z{i}" for i in range(bottleneck)), "chroma"]
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = [c.strip() for c in reader.fieldnames or []]
            raw = list(reader)
    except (UnicodeDecodeError, csv.Error) as err:
        raise InputError(f"{path}: not a text CSV file ({type(err).__name__}); write time,{','.join(needed[1:])}"
                         "[,volume] rows") from None
    missing = [c for c in needed if c not in header]
    extra = [c for c in header if c not in (*needed, "volume")]
    if missing or extra:
        problem = f"missing column(s) {', '.join(missing)}" if missing else f"unknown column(s) {', '.join(extra)}"
        raise InputError(f"{path}: {problem}; the header must be {','.join(needed)}[,volume] for this "
                         f"{bottleneck}-unit decoder")
    rows = []
    for n, row in enumerate(raw, start=2):
        row = {k.strip(): v for k, v in row.items() if k is not None}
        where = f"{path}:{n}"
        rows.append({"time": _number(row, "time", where),
                     "z": [_number(row, f"z{i}", where) for i in range(bottleneck)],
                     "chroma": pitch_class(row["chroma"], where),
                     "volume": _number(row, "volume", where) if row.get("volume") not in (None, "") else None})
        if rows[-1]["time"] < 0:
            raise InputError(f"{where}: time={rows[-1]['time']:g} is negative; times are seconds from 0")
        if rows[-1]["volume"] is not None and not 0 <= rows[-1]["volume"] <= 1:
            raise InputError(f"{where}: volume={rows[-1]['volume']:g} is outside [0, 1]")
    if not rows:
        raise InputError(f"{path}: has a header but no rows")
    _check_latents(path, rows, meta)
    return sorted(rows, key=lambda r: r["time"])


def _check_latents(path: Path, rows: list[dict], meta: dict) -> None:
    """A sigmoid bottleneck's latents are in (0, 1): a value outside [0, 1] is an error naming its row; a value
    outside the range the training set's latents spanned (``meta``) is a one-line warning."""
    z = np.array([r["z"] for r in rows])
    if meta.get("activation") == "sigmoid" and not meta.get("variational"):
        bad = np.flatnonzero(((z < 0) | (z > 1)).any(1))
        if len(bad):
            raise InputError(f"{path}:{bad[0] + 2}: latent {rows[bad[0]]['z']} outside [0, 1], which this sigmoid "
                             "bottleneck cannot give; use values in [0, 1]")
    low, high = meta.get("latent_min"), meta.get("latent_max")
    if low is not None:
        for unit in range(z.shape[1]):
            checks.within(f"{path}: z{unit}", z[:, unit], low[unit], high[unit], "the training set's latents",
                          strict=False)


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
    sr = module.hparams.features["sample_rate"]
    return resynthesise_audio(module, load_audio(path, sr), latent_scale, str(path)), sr


def frames_and_phase(audio: np.ndarray, n_fft: int, hop: int, what: str) -> tuple:
    """(normalised kept frames (kept, bins), their peaks, kept mask (frames,), STFT (frames, bins)) of mono audio,
    silent frames (-70 dB) dropped; one line naming ``what`` if it is too short or silent."""
    if len(audio) < n_fft:
        raise InputError(f"{what}: {len(audio)} samples is shorter than one {n_fft}-sample frame")
    spec = stft(torch.from_numpy(np.asarray(audio, np.float32)), n_fft, hop).T  # (frames, bins)
    frames, peaks, kept = features.normalise_frames(spec.abs(), features.silence_floor(n_fft, -70.0))
    if not kept.any():
        raise InputError(f"{what}: is silent (no frame above -70 dB); nothing to resynthesise")
    return frames, peaks, kept, spec


def invert(frames: torch.Tensor, peaks: torch.Tensor, kept: torch.Tensor, spec: torch.Tensor, hop: int,
           length: int) -> np.ndarray:
    """Kept normalised magnitude frames times their peaks, with the phase of ``spec`` (frames, bins), to audio."""
    mags = torch.zeros(spec.shape, dtype=torch.float32)
    mags[kept] = frames * peaks[:, None]
    n_fft = 2 * (spec.shape[1] - 1)
    return istft(torch.polar(mags.T.contiguous(), torch.angle(spec).T.contiguous()), n_fft, hop, length=length).numpy()


@torch.no_grad()
def resynthesise_audio(module: FrameAutoencoder, audio: np.ndarray, latent_scale: float = 1.0,
                       what: str = "input") -> np.ndarray:
    """:func:`resynthesise` on mono audio at the model's sample rate."""
    f = module.hparams.features
    frames, peaks, kept, spec = frames_and_phase(audio, f["n_fft"], f["hop_length"], what)
    chroma = features.onehot(features.chroma_class(frames, f["sample_rate"]))
    z, _ = module.net.encode(frames, chroma)
    return invert(module.net.decoder(z * latent_scale, chroma), peaks, kept, spec, f["hop_length"], len(audio))
