"""Synthetic monophonic tone domains: the embedded default's stand-in for the paper's instrument domains.

Each domain plays random legato melodies (MIDI 55-79, notes of 0.25-0.6 s), 16 kHz 16-bit mono, in the
folder layout ``prepare`` reads. Melodies take turns between the domain's additive timbre (harmonic amplitudes,
envelope, vibrato, breath noise; every note varies the amplitudes by a random spectral tilt and a random gain
per harmonic) and its General MIDI program played by tinysoundfont from each of three corpus soundfonts
(TimGM6mb, FluidR3_GM, sf_GMbank; never the held-out MuseScore General of ``common.heldout``), so the encoder
meets many spectra for each pitch::

    <domain>/{train,val,test}/<domain>-<n>.wav     piano, harpsichord, strings, organ
    <domain>/test/<domain>-<n>.wav                 unseen: whistle, flute

``size`` = training melodies per domain (12 s each); 2 val and 4 test melodies (30 s) per domain.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.audio import save_audio
from common.corpora.manifest import build_atomically, build_lock, read_manifest

VERSION = 3
SPREAD = 0.3  # std of the per-harmonic log gain of each note
TILT = 0.3  # each note's spectral tilt: amplitude x n^U(-TILT, TILT)
SIZES = {"tiny": 2, "default": 12}
SAMPLE_RATE = 16000
TRAIN_SECONDS, VAL_SECONDS, TEST_SECONDS = 12.0, 12.0, 30.0
N_VAL, N_TEST = 2, 4


@dataclass(frozen=True)
class Timbre:
    harmonics: tuple[float, ...]  # amplitude of harmonic 1, 2, ...
    attack: float  # seconds
    decay: float | None  # exponential decay time constant in seconds (None: sustained)
    vibrato: float = 0.0  # depth in semitones (5.5 Hz)
    noise: float = 0.0  # breath noise level


TIMBRES = {
    "piano": Timbre(tuple(1 / n**1.5 for n in range(1, 9)), 0.005, 0.45),
    "harpsichord": Timbre(tuple((1.3 if n % 2 else 0.8) / n**0.7 for n in range(1, 13)), 0.002, 0.25),
    "strings": Timbre(tuple(1 / n for n in range(1, 11)), 0.06, None, vibrato=0.15),
    "organ": Timbre((1.0, 0.7, 0.0, 0.5, 0.0, 0.0, 0.0, 0.3), 0.02, None),
    "whistle": Timbre((1.0,), 0.03, None, vibrato=0.25, noise=0.01),
    "flute": Timbre((1.0, 0.3, 0.1), 0.04, None, vibrato=0.1, noise=0.03),
}
UNSEEN = ("whistle", "flute")
PROGRAMS = {"piano": 0, "harpsichord": 6, "strings": 48, "organ": 19, "whistle": 78, "flute": 73}  # General MIDI
SOUNDFONTS = (None, "TimGM6mb", "FluidR3_GM", "sf_GMbank")  # per melody in turn; None: the additive timbre


def melody(rng: np.random.Generator, seconds: float) -> list[tuple[int, float]]:
    """Random-walk legato melody: (MIDI pitch, duration in seconds) covering ``seconds``."""
    notes, total, pitch = [], 0.0, int(rng.integers(60, 73))
    while total < seconds:
        pitch = int(np.clip(pitch + rng.integers(-4, 5), 55, 79))
        duration = float(rng.uniform(0.25, 0.6))
        notes.append((pitch, duration))
        total += duration
    return notes


def render(notes: list[tuple[int, float]], timbre: Timbre, rng: np.random.Generator,
           sample_rate: int = SAMPLE_RATE, spread: float = SPREAD, tilt: float = TILT) -> np.ndarray:
    """Additive synthesis of ``notes`` -> float32 (samples,), peak 0.8; each note's harmonic amplitudes are the
    timbre's times ``n^U(-tilt, tilt) * exp(spread * N(0, 1))`` (0, 0: the timbre itself)."""
    out = []
    for pitch, duration in notes:
        n = np.arange(1, len(timbre.harmonics) + 1)
        gains = n ** rng.uniform(-tilt, tilt) * np.exp(spread * rng.standard_normal(len(n)))
        t = np.arange(int(duration * sample_rate)) / sample_rate
        f0 = 440.0 * 2 ** ((pitch - 69) / 12) * 2 ** (timbre.vibrato * np.sin(2 * np.pi * 5.5 * t) / 12)
        phase = 2 * np.pi * np.cumsum(f0) / sample_rate
        tone = sum(a * g * np.sin(k * phase) for k, a, g in zip(n, timbre.harmonics, gains) if a)
        env = np.minimum(1.0, t / timbre.attack) * np.minimum(1.0, (duration - t) / 0.01)
        if timbre.decay is not None:
            env = env * np.exp(-t / timbre.decay)
        out.append(env * tone + timbre.noise * rng.standard_normal(len(t)))
    audio = np.concatenate(out)
    return (0.8 * audio / np.abs(audio).max()).astype(np.float32)


def sampled(notes: list[tuple[int, float]], program: int, soundfont: str) -> np.ndarray:
    """``notes`` played legato on GM ``program`` of a corpus soundfont (tinysoundfont) -> float32, peak 0.8."""
    import pretty_midi

    from common.corpora.render import render_midi
    from common.corpora.render import soundfont as soundfont_path

    midi, t = pretty_midi.PrettyMIDI(), 0.0
    instrument = pretty_midi.Instrument(program=program)
    for pitch, duration in notes:
        instrument.notes.append(pretty_midi.Note(96, pitch, t, t + duration))
        t += duration
    midi.instruments.append(instrument)
    audio = render_midi(midi, SAMPLE_RATE, soundfont_path(soundfont), tail=0.2)
    return (0.8 * audio / max(float(np.abs(audio).max()), 1e-9)).astype(np.float32)


def build(out: Path, size: int, seed: int) -> dict:
    """Write every domain's melodies under ``out``: melody n additive (n % 4 = 0) or sampled from soundfont
    ``SOUNDFONTS[n % 4]``; returns the manifest."""
    rng = np.random.default_rng(seed)
    for domain, timbre in TIMBRES.items():
        plan = [("test", TEST_SECONDS)] * N_TEST
        if domain not in UNSEEN:
            plan = [("train", TRAIN_SECONDS)] * size + [("val", VAL_SECONDS)] * N_VAL + plan
        for n, (split, seconds) in enumerate(plan):
            notes, font = melody(rng, seconds), SOUNDFONTS[n % len(SOUNDFONTS)]
            audio = render(notes, timbre, rng) if font is None else sampled(notes, PROGRAMS[domain], font)
            save_audio(out / domain / split / f"{domain}-{n:03d}.wav", audio, SAMPLE_RATE, "PCM_16")
    return {"corpus": "translation_tones", "size": size, "seed": seed, "version": VERSION,
            "domains": list(TIMBRES), "unseen": list(UNSEEN), "sample_rate": SAMPLE_RATE}


def ensure_tones(root: str | Path, size: int, seed: int = 0) -> Path:
    """Build the tone domains in ``root`` unless a complete build with the same size/seed/version is there."""
    root = Path(root)
    wanted = {"size": size, "seed": seed, "version": VERSION}
    with build_lock(root.parent, root.name):
        manifest = read_manifest(root)
        if manifest is None or any(manifest.get(k) != v for k, v in wanted.items()):
            build_atomically(root, lambda tmp: build(tmp, size, seed))
    return root
