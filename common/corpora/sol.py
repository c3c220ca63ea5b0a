"""SOL stand-in with TinySOL naming: single notes of the 12 instruments of the GMVAE paper's SOL subset
(soundfont GM programs), across each instrument's range at three dynamics, 44.1 kHz 16-bit mono::

    TinySOL/<Family>/<Instrument>/ordinario/<Inst>-ord-<pitch>-<dyn>-<string>-N.wav
    TinySOL_metadata.csv        (next to TinySOL/) the real metadata columns, Path relative to TinySOL/

e.g. ``Strings/Violin/ordinario/Vn-ord-A4-mf-2c-N.wav``: pitch in scientific notation with sharps,
dynamics pp/mf/ff, string ``1c``-``4c`` for bowed strings (``N`` otherwise), last field ``N`` = not
retuned. Each note is held 1.0 s and the file is 1.5 s. ``size`` = pitches per octave: every
``round(12 / size)``-th semitone of the instrument's range counted from F#4 (MIDI 66), which every
instrument plays, so all instruments share pitches.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pretty_midi
from tqdm import tqdm

from common.audio import save_audio
from common.corpora.manifest import Skips
from common.corpora.render import default_soundfont, render_notes

VERSION = 1
SIZES = {"tiny": 1, "default": 4}
SIZE_MEANS = "pitches per octave (x 3 dynamics x 12 instruments)"
SAMPLE_RATE = 44100
NOTE_SECONDS, FILE_SECONDS = 1.0, 1.5
SHARED_PITCH = 66  # F#4, inside every instrument's range
DYNAMICS = (("pp", 0, 36), ("mf", 2, 80), ("ff", 4, 120))  # name, TinySOL Dynamics ID, MIDI velocity
METADATA_COLUMNS = ("Path", "Fold", "Family", "Instrument (abbr.)", "Instrument (in full)", "Technique (abbr.)",
                    "Technique (in full)", "Pitch", "Pitch ID", "Dynamics", "Dynamics ID", "Instance ID",
                    "String ID", "Resampled")  # TinySOL_metadata.csv's columns, in its order

# family, folder, abbreviation, full name, GM program, lowest and highest MIDI pitch, open strings
INSTRUMENTS = (
    ("Keyboards", "Piano", "Pno", "Piano", 0, 21, 108, ()),
    ("Strings", "Violin", "Vn", "Violin", 40, 55, 100, (76, 69, 62, 55)),
    ("Strings", "Violoncello", "Vc", "Violoncello", 42, 36, 76, (57, 50, 43, 36)),
    ("Winds", "English_Horn", "Ehn", "English Horn", 69, 52, 81, ()),
    ("Brass", "Horn", "Hn", "Horn", 60, 34, 77, ()),
    ("Brass", "Trombone", "Tbn", "Trombone", 57, 40, 72, ()),
    ("Brass", "Trumpet_C", "TpC", "Trumpet in C", 56, 54, 86, ()),
    ("Winds", "Sax_Alto", "ASax", "Alto Saxophone", 65, 49, 81, ()),
    ("Winds", "Bassoon", "Bn", "Bassoon", 70, 34, 75, ()),
    ("Winds", "Clarinet_Bb", "ClBb", "Clarinet in Bb", 71, 50, 91, ()),
    ("Winds", "Flute", "Fl", "Flute", 73, 60, 96, ()),
    ("Winds", "Oboe", "Ob", "Oboe", 68, 58, 91, ()),
)


def pitch_name(midi_pitch: int) -> str:
    """MIDI 61 -> ``C#4``."""
    return pretty_midi.note_number_to_name(midi_pitch)


def string_id(open_strings: tuple[int, ...], pitch: int) -> int | None:
    """The highest string (1 = highest) whose open pitch is at or below ``pitch``, for bowed strings."""
    for number, open_pitch in enumerate(open_strings, start=1):
        if pitch >= open_pitch:
            return number
    return None


def sample_path(family: str, folder: str, abbr: str, pitch: int, dynamics: str, string: int | None) -> str:
    """Path relative to ``TinySOL/`` in TinySOL's naming."""
    string_field = f"{string}c" if string else "N"
    return f"{family}/{folder}/ordinario/{abbr}-ord-{pitch_name(pitch)}-{dynamics}-{string_field}-N.wav"


def instrument_pitches(low: int, high: int, size: int) -> list[int]:
    step = max(1, round(12 / size))
    return [p for p in range(SHARED_PITCH % step, 128, step) if low <= p <= high]


def build(out: Path, size: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    base = out / "TinySOL"
    skips, rows = Skips(), []
    n_files = sum(len(instrument_pitches(low, high, size)) for *_, low, high, _ in INSTRUMENTS) * len(DYNAMICS)
    progress = tqdm(total=n_files, desc="sol", unit="note", leave=False)
    for family, folder, abbr, full, program, low, high, strings in INSTRUMENTS:
        for pitch in instrument_pitches(low, high, size):
            for dynamics, dynamics_id, velocity in DYNAMICS:
                progress.update()
                string = string_id(strings, pitch)
                path = sample_path(family, folder, abbr, pitch, dynamics, string)
                audio = render_notes([(0.0, NOTE_SECONDS, pitch, velocity)], program, SAMPLE_RATE,
                                     tail=FILE_SECONDS - NOTE_SECONDS)
                if np.abs(audio).max() < 1e-4:
                    skips.add("silent rendering", path)
                    continue
                save_audio(base / path, np.clip(audio, -1, 1), SAMPLE_RATE, "PCM_16")
                rows.append((path, int(rng.integers(5)), family, abbr, full, "ord", "ordinario", pitch_name(pitch),
                             pitch, dynamics, dynamics_id, 0, string or "", "FALSE"))
    progress.close()
    with open(out / "TinySOL_metadata.csv", "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(METADATA_COLUMNS)
        writer.writerows(rows)
    return {
        "stands_in_for": "SOL / TinySOL (Ircam Studio On Line), the 12 instruments of Luo et al. 2019",
        "sample_rate": SAMPLE_RATE, "channels": "mono",
        "how": "one note per file rendered with tinysoundfont; velocity sets the dynamics; the level is "
               "the soundfont's (not normalised), so dynamics stay audible",
        "soundfont": default_soundfont().name, "metadata": "TinySOL_metadata.csv",
        "instruments": {abbr: {"family": family, "name": full, "gm_program": program, "range": [low, high]}
                        for family, _, abbr, full, program, low, high, _ in INSTRUMENTS},
        "dynamics": {name: velocity for name, _, velocity in DYNAMICS},
        "skipped": skips.report("sol"), "items": len(rows),
    }
