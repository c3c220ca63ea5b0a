"""MAPS stand-in: piano renderings of music21 works (Bach chorales with a performer's tempo, velocities and
timing jitter), each piece played on every piano, in the real layout::

    MAPS/<instrument>/MUS/MAPS_MUS-<name>_<instrument>.wav   44.1 kHz 16-bit stereo
    MAPS/<instrument>/MUS/MAPS_MUS-<name>_<instrument>.mid   the performance MIDI that was rendered
    MAPS/<instrument>/MUS/MAPS_MUS-<name>_<instrument>.txt   "OnsetTime\tOffsetTime\tMidiPitch" note list (s)

The pianos (``PIANOS``) carry MAPS's instrument names; each is a GM soundfont and program in its own room
(reverb, microphone EQ, level), with a little random variation per file. ENSTDkCl, MAPS's "real" piano and
the usual held-out one, uses a soundfont no other piano uses. The same performance MIDI is rendered on every
piano; the note list is read back from the written ``.mid``, so annotation, MIDI and audio agree exactly.
``size`` = number of pieces (at most 30 s each); the manifest records each file's soundfont, program and room.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pretty_midi
from tqdm import tqdm

from common.audio import save_audio
from common.corpora import scores
from common.corpora.manifest import Skips
from common.corpora.render import record_in_room, render_midi, soundfont
from common.errors import InputError

VERSION = 2
SIZES = {"tiny": 2, "default": 30}
SIZE_MEANS = "pieces (music21 Bach chorales, at most 30 s each), each played on every piano of PIANOS"
SAMPLE_RATE = 44100
MAX_SECONDS = 30.0
PIANO = 0


@dataclass(frozen=True)
class Piano:
    """A MAPS instrument: GM ``program`` of ``soundfont`` (a key of ``render.SOUNDFONTS``) in a room with
    reverb time ``rt60`` (s) mixed at ``wet``, and a microphone tilting the spectrum by ``tilt_db`` per octave."""

    soundfont: str
    program: int
    rt60: float
    wet: float
    tilt_db: float


PIANOS = {
    "AkPnBcht": Piano("TimGM6mb", 0, rt60=1.2, wet=0.30, tilt_db=-1.5),  # hall, distant microphones
    "AkPnStgb": Piano("sf_GMbank", 0, rt60=0.5, wet=0.12, tilt_db=1.0),  # studio, close and bright
    "SptkBGCl": Piano("TimGM6mb", 1, rt60=0.3, wet=0.05, tilt_db=0.0),  # "close" microphones, dry
    "StbgTGd2": Piano("sf_GMbank", 1, rt60=0.9, wet=0.25, tilt_db=-0.5),
    "ENSTDkCl": Piano("FluidR3_GM", 0, rt60=0.6, wet=0.15, tilt_db=0.0),  # held out: a soundfont of its own
}


def maps_stem(work: str, instrument: str = "ENSTDkCl") -> str:
    """``bach/bwv153.1`` -> ``MAPS_MUS-bach-bwv153-1_ENSTDkCl``."""
    return f"MAPS_MUS-{work.replace('/', '-').replace('.', '-')}_{instrument}"


def _room(piano: Piano, rng: np.random.Generator) -> dict:
    """This file's recording settings: the piano's room, varied a little, a random EQ bell and level."""
    return {"rt60": round(piano.rt60 * float(rng.uniform(0.8, 1.25)), 3),
            "wet": round(piano.wet * float(rng.uniform(0.7, 1.3)), 3),
            "tilt_db": round(piano.tilt_db + float(rng.uniform(-0.5, 0.5)), 2),
            "peak_hz": round(float(np.exp(rng.uniform(np.log(200), np.log(4000)))), 1),
            "peak_db": round(float(rng.uniform(-4, 4)), 2),
            "level_db": round(float(rng.uniform(-12, -1)), 2),
            "seed": int(rng.integers(2**31))}


def _perform(midi: pretty_midi.PrettyMIDI, rng: np.random.Generator) -> pretty_midi.PrettyMIDI:
    """Piano performance: one instrument, a slow dynamic curve plus per-note velocity noise, onsets
    jittered by up to 10 ms, chords slightly rolled."""
    piano = scores.merge_to_one_instrument(midi, PIANO)
    phase, period = rng.uniform(0, 2 * np.pi), rng.uniform(6, 14)
    for note in piano.instruments[0].notes:
        swell = 70 + 20 * np.sin(phase + 2 * np.pi * note.start / period)
        note.velocity = int(np.clip(swell + rng.normal(0, 6), 30, 115))
        shift = float(rng.uniform(0, 0.01))
        note.start, note.end = note.start + shift, max(note.end + shift - 0.02, note.start + shift + 0.05)
    return piano


def write_note_list(path: Path, midi: pretty_midi.PrettyMIDI) -> None:
    notes = sorted((n for inst in midi.instruments for n in inst.notes), key=lambda n: (n.start, n.pitch))
    lines = ["OnsetTime\tOffsetTime\tMidiPitch\n"]
    lines += [f"{n.start:.6f}\t{n.end:.6f}\t{n.pitch}\n" for n in notes]
    path.write_text("".join(lines))


def build(out: Path, size: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    fonts = {name: soundfont(piano.soundfont) for name, piano in PIANOS.items()}  # all present before rendering
    folders = {name: out / "MAPS" / name / "MUS" for name in PIANOS}
    for folder in folders.values():
        folder.mkdir(parents=True)
    works = list(scores.chorale_names())
    rng.shuffle(works)
    skips, items = Skips(), []
    progress = tqdm(total=size, desc="maps", unit="piece", leave=False)
    for work in works:
        if len(items) == size * len(PIANOS):
            break
        bpm = float(rng.integers(66, 111))
        try:
            performance = _perform(scores.load_work(work, [PIANO], bpm, MAX_SECONDS), rng)
        except scores.ScoreError as err:
            skips.add("music21 work failed to convert", str(err))
            continue
        buffer = io.BytesIO()
        performance.write(buffer)
        buffer.seek(0)
        midi = pretty_midi.PrettyMIDI(buffer)
        renderings = {}
        for name, piano in PIANOS.items():
            midi.instruments[0].program = piano.program
            audio = render_midi(midi, SAMPLE_RATE, soundfont=fonts[name], tail=1.0, stereo=True)
            if np.abs(audio).max() < 1e-4:
                break
            room = _room(piano, rng)
            renderings[name] = (record_in_room(audio, SAMPLE_RATE, **room), room)
        if len(renderings) < len(PIANOS):
            skips.add("silent rendering", f"{work} on {name}")
            continue
        midi.instruments[0].program = PIANO
        for name, (audio, room) in renderings.items():
            stem = folders[name] / maps_stem(work, name)
            save_audio(stem.with_suffix(".wav"), audio, SAMPLE_RATE, "PCM_16")
            stem.with_suffix(".mid").write_bytes(buffer.getvalue())
            write_note_list(stem.with_suffix(".txt"), midi)
            items.append({"name": stem.name, "work": work, "instrument": name, "bpm": bpm,
                          "notes": len(midi.instruments[0].notes), "soundfont": PIANOS[name].soundfont,
                          "program": PIANOS[name].program, "room": room})
        progress.update()
    progress.close()
    if len(items) < size * len(PIANOS):
        raise InputError(f"maps: only {len(items) // len(PIANOS)} of {size} pieces could be made; use a smaller "
                         "size (see skipped counts)")
    return {
        "stands_in_for": "MAPS MUS pieces on several pianos (Emiya et al. 2010)", "sample_rate": SAMPLE_RATE,
        "channels": "stereo",
        "how": "music21 Bach chorales -> one piano part with performed tempo/velocity/timing -> .mid; audio "
               "rendered from that .mid with tinysoundfont on each piano (soundfont + GM program), then reverb, "
               "microphone EQ and level (common.corpora.render.record_in_room)",
        "pianos": {name: {**asdict(piano), "file": fonts[name].name} for name, piano in PIANOS.items()},
        "skipped": skips.report("maps"), "items": items,
    }
