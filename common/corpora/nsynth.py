"""NSynth stand-in: 4 s single notes at 16 kHz 16-bit mono (note held 3 s, then released), with the real
metadata in the real layout::

    nsynth-{train,valid,test}/audio/<note_str>.wav
    nsynth-{train,valid,test}/examples.json    {note_str: {note, note_str, pitch, velocity, sample_rate,
                                                instrument, instrument_str, instrument_family(_str),
                                                instrument_source(_str), qualities, qualities_str}}

``note_str`` is ``<family>_<source>_<nnn>-<pitch:03d>-<velocity:03d>``. Instruments are GM soundfont
programs labelled with NSynth's family and source; splits are by instrument, as in NSynth. Qualities:
only ``percussive`` is set (for struck and plucked families); the other nine are 0.
``size`` = number of instruments (each: every 3rd pitch of its range, velocities 50 and 100).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from common.audio import save_audio
from common.corpora.manifest import Skips
from common.corpora.render import default_soundfont, render_notes
from common.errors import InputError

VERSION = 1
SIZES = {"tiny": 3, "default": 16}
SIZE_MEANS = "instruments (each: every 3rd pitch of its range x velocities 50, 100)"
SAMPLE_RATE = 16000
NOTE_SECONDS, FILE_SECONDS = 3.0, 4.0
VELOCITIES = (50, 100)
PITCH_STEP = 3
FAMILIES = ("bass", "brass", "flute", "guitar", "keyboard", "mallet", "organ", "reed", "string", "synth_lead",
            "vocal")
SOURCES = ("acoustic", "electronic", "synthetic")
QUALITIES = ("bright", "dark", "distortion", "fast_decay", "long_release", "multiphonic", "nonlinear_env",
             "percussive", "reverb", "tempo-synced")
PERCUSSIVE_FAMILIES = {"guitar", "keyboard", "mallet"}

# family, source, GM program, lowest and highest MIDI pitch; in the order instruments are taken
INSTRUMENTS = (
    ("keyboard", "acoustic", 0, 21, 108), ("string", "acoustic", 40, 55, 100), ("brass", "acoustic", 56, 54, 86),
    ("bass", "electronic", 33, 28, 67), ("flute", "acoustic", 73, 60, 96), ("reed", "acoustic", 71, 50, 91),
    ("guitar", "acoustic", 24, 40, 84), ("mallet", "acoustic", 11, 53, 89), ("organ", "electronic", 16, 36, 96),
    ("synth_lead", "synthetic", 81, 36, 96), ("vocal", "acoustic", 52, 48, 79), ("bass", "synthetic", 38, 28, 67),
    ("keyboard", "electronic", 4, 28, 103), ("string", "acoustic", 42, 36, 76), ("brass", "acoustic", 60, 34, 77),
    ("reed", "acoustic", 65, 49, 81), ("guitar", "electronic", 27, 40, 86), ("mallet", "acoustic", 12, 45, 96),
    ("organ", "acoustic", 19, 24, 96), ("synth_lead", "synthetic", 80, 36, 96), ("flute", "acoustic", 75, 60, 96),
    ("bass", "acoustic", 32, 28, 67), ("vocal", "synthetic", 54, 48, 79), ("brass", "synthetic", 62, 36, 84),
)


def split_of(index: int, n_instruments: int) -> str:
    """Instrument-level split: the last instrument is test, the one before valid (with >= 3 instruments)."""
    if n_instruments >= 3 and index == n_instruments - 1:
        return "test"
    if n_instruments >= 3 and index == n_instruments - 2:
        return "valid"
    return "train"


def build(out: Path, size: int, seed: int) -> dict:
    if size > len(INSTRUMENTS):
        raise InputError(f"nsynth size must be <= {len(INSTRUMENTS)} (instrument definitions), got {size}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(size)  # which instruments land in valid/test depends on the seed
    examples: dict[str, dict] = {split: {} for split in ("train", "valid", "test")}
    counters: dict[tuple[str, str], int] = {}
    programs: dict[str, int] = {}
    skips = Skips()
    progress = tqdm(total=size, desc="nsynth", unit="instrument", leave=False)
    for instrument, (family, source, program, low, high) in enumerate(INSTRUMENTS[:size]):
        progress.update()
        number = counters[family, source] = counters.get((family, source), -1) + 1
        instrument_str = f"{family}_{source}_{number:03d}"
        programs[instrument_str] = program
        split = split_of(int(np.flatnonzero(order == instrument)[0]), size)
        for pitch in range(low, high + 1, PITCH_STEP):
            for velocity in VELOCITIES:
                note_str = f"{instrument_str}-{pitch:03d}-{velocity:03d}"
                audio = render_notes([(0.0, NOTE_SECONDS, pitch, velocity)], program, SAMPLE_RATE,
                                     tail=FILE_SECONDS - NOTE_SECONDS)[: int(FILE_SECONDS * SAMPLE_RATE)]
                if np.abs(audio).max() < 1e-4:
                    skips.add("silent rendering", note_str)
                    continue
                save_audio(out / f"nsynth-{split}" / "audio" / f"{note_str}.wav", np.clip(audio, -1, 1),
                           SAMPLE_RATE, "PCM_16")
                qualities = [int(q == "percussive" and family in PERCUSSIVE_FAMILIES) for q in QUALITIES]
                examples[split][note_str] = {
                    "note": len(examples[split]), "note_str": note_str, "pitch": pitch, "velocity": velocity,
                    "sample_rate": SAMPLE_RATE, "instrument": instrument, "instrument_str": instrument_str,
                    "instrument_family": FAMILIES.index(family), "instrument_family_str": family,
                    "instrument_source": SOURCES.index(source), "instrument_source_str": source,
                    "qualities": qualities, "qualities_str": [q for q, on in zip(QUALITIES, qualities) if on],
                }
    progress.close()
    for split, notes in examples.items():
        if notes:
            (out / f"nsynth-{split}" / "examples.json").write_text(json.dumps(notes, indent=1, sort_keys=True))
    return {
        "stands_in_for": "NSynth (Engel et al. 2017)", "sample_rate": SAMPLE_RATE, "channels": "mono",
        "how": "one note per file rendered with tinysoundfont, held 3 s of 4 s; GM programs labelled with "
               "NSynth families/sources; split by instrument",
        "soundfont": default_soundfont().name,
        "instruments": {split: sorted({note["instrument_str"] for note in notes.values()})
                        for split, notes in examples.items()},
        "gm_programs": programs,
        "skipped": skips.report("nsynth"), "items": sum(len(n) for n in examples.values()),
    }
