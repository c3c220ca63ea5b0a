"""Scale corpora standing in for the MicroKORG and TU-Note violin corpora of the real-time timbre AE,
44.1 kHz 16-bit mono, split at clip level (no clip contributes frames to two splits)::

    one_octave/{train,val,test}/<nn>-<gm-program-name>.wav    C4-C5-C4 chromatic scale, 0.25 s per note, then
                                                              a major and a minor triad on each of C4..B4, 0.25 s each
    five_octave/{train,val,test}/<nn>-<gm-program-name>.wav   C2-C7 major scale up, 0.25 s per note
    violin/train/note-<pitch>-<dyn>.wav                       single violin notes (GM 40), 1 s
    violin/{val,test}/passage.wav                             the two halves of one scale/arpeggio passage

Each GM program (a "patch") is one clip in both scale corpora and lands in the same split in both.
``size`` = number of patches (programs 0-111 drawn by seed): ``max(1, min(5, size // 8))`` each for val
and test, the rest train (70/5/5 at the paper's 80); violin notes: ``min(size, 46)`` pitches x 3 dynamics.
The one-octave clips differ from the paper's C-major scales so that a model trained on them has heard every
pitch class its synthesizer offers, and chords (the paper conditions a chord on its dominant pitch class);
:func:`scheduled_pitch` gives the note sounding at any time of a clip's scale.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pretty_midi
from tqdm import tqdm

from common.audio import save_audio
from common.corpora.manifest import Skips
from common.corpora.render import default_soundfont, render_notes
from common.errors import InputError

VERSION = 2
SIZES = {"tiny": 3, "default": 40}
SIZE_MEANS = "patches (GM programs), each a one-octave and a five-octave C-major scale clip"
SAMPLE_RATE = 44100
MELODIC_PROGRAMS = 112  # GM 112-127 are percussion and sound effects
C_MAJOR = (0, 2, 4, 5, 7, 9, 11)
VIOLIN, VIOLIN_RANGE = 40, (55, 100)
DYNAMICS = (("pp", 40), ("mf", 80), ("ff", 115))


def major_scale(low: int, high: int) -> list[int]:
    return [p for p in range(low, high + 1) if p % 12 in C_MAJOR]


SCALES = {  # corpus -> (pitches, seconds per note)
    "one_octave": (list(range(60, 73)) + list(range(71, 59, -1)), 0.25),
    "five_octave": (major_scale(36, 96), 0.25),
}


CHORDS = {"one_octave": [(root, triad) for triad in ((0, 4, 7), (0, 3, 7)) for root in range(60, 72)]}  # major, minor


def legato(pitches: list[int], step: float, velocity: int = 90) -> list[tuple[float, float, int, int]]:
    return [(i * step, (i + 1) * step - 0.02, p, velocity) for i, p in enumerate(pitches)]


def scheduled_pitch(corpus: str, seconds: np.ndarray, margin: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The MIDI pitch of a ``corpus`` clip's scale (one_octave or five_octave) sounding at ``seconds`` (the last
    note's in its release tail), and whether the time is at least ``margin`` s inside that note (not near a note
    change, and not in the chords after the scale)."""
    pitches, step = SCALES[corpus]
    seconds = np.asarray(seconds, np.float64)
    index = np.clip(np.floor(seconds / step).astype(int), 0, len(pitches) - 1)
    last = index == len(pitches) - 1
    start, end = index * step, np.where(last & (corpus not in CHORDS), np.inf, (index + 1) * step - 0.02)
    return np.array(pitches)[index], (seconds - start >= margin) & (end - seconds >= margin)


def notes(corpus: str) -> list[tuple[float, float, int, int]]:
    """The (start s, end s, pitch, velocity) notes of a scale corpus's clip: the scale, then its chords."""
    pitches, step = SCALES[corpus]
    chords = [(root + i, k) for k, (root, triad) in enumerate(CHORDS.get(corpus, [])) for i in triad]
    return legato(pitches, step) + [(len(pitches) * step + k * step, len(pitches) * step + (k + 1) * step - 0.02,
                                     pitch, 80) for pitch, k in chords]


def patch_splits(size: int) -> list[str]:
    held_out = max(1, min(5, size // 8))
    return ["train"] * (size - 2 * held_out) + ["val"] * held_out + ["test"] * held_out


def _save(path: Path, audio: np.ndarray, skips: Skips) -> bool:
    if np.abs(audio).max() < 1e-4:
        skips.add("silent rendering", str(path))
        return False
    save_audio(path, audio * (0.8 / np.abs(audio).max()), SAMPLE_RATE, "PCM_16")
    return True


def _violin(out: Path, size: int, skips: Skips) -> list[str]:
    made = []
    for pitch in np.unique(np.round(np.linspace(*VIOLIN_RANGE, min(size, 46))).astype(int)):
        for name, velocity in DYNAMICS:
            path = out / "violin" / "train" / f"note-{pretty_midi.note_number_to_name(pitch)}-{name}.wav"
            audio = render_notes([(0.0, 1.0, int(pitch), velocity)], VIOLIN, SAMPLE_RATE, tail=0.3)
            made += [path.name] if _save(path, audio, skips) else []
    passage = major_scale(55, 84) + major_scale(55, 83)[::-1] + [55, 59, 62, 67, 71, 74, 79, 83, 86, 83, 79, 74]
    audio = render_notes(legato(passage, 0.3, 85), VIOLIN, SAMPLE_RATE, tail=0.5)
    half = len(audio) // 2
    for split, part in (("val", audio[:half]), ("test", audio[half:])):
        made += [f"{split}/passage.wav"] if _save(out / "violin" / split / "passage.wav", part, skips) else []
    return made


def build(out: Path, size: int, seed: int) -> dict:
    if not 3 <= size <= MELODIC_PROGRAMS:
        raise InputError(f"scales size must be 3..{MELODIC_PROGRAMS} patches, got {size}")
    rng = np.random.default_rng(seed)
    programs = [int(p) for p in rng.permutation(MELODIC_PROGRAMS)[:size]]
    skips, items = Skips(), []
    for number, (program, split) in enumerate(tqdm(list(zip(programs, patch_splits(size))), desc="scales",
                                                   unit="patch", leave=False)):
        slug = pretty_midi.program_to_instrument_name(program).lower().replace(" ", "-").replace("(", "")
        name = f"{number:02d}-{slug.replace(')', '')}.wav"
        for corpus in SCALES:
            audio = render_notes(notes(corpus), program, SAMPLE_RATE, tail=0.6)
            if _save(out / corpus / split / name, audio, skips):
                items.append({"corpus": corpus, "split": split, "file": name, "gm_program": program})
    violin = _violin(out, size, skips)
    return {
        "stands_in_for": "MicroKORG one- and five-octave scale corpora and the TU-Note violin library "
                         "(Colonel & Keene 2020)",
        "sample_rate": SAMPLE_RATE, "channels": "mono",
        "how": "C-major scales rendered per GM program with tinysoundfont (a program = a synth patch); "
               "violin single notes for train and a passage cut in two for val/test; peak-normalised",
        "soundfont": default_soundfont().name, "violin_program": VIOLIN,
        "skipped": skips.report("scales"), "items": items, "violin_files": violin,
    }
