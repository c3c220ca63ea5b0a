"""MAPS ENSTDkCl stand-in: piano renderings of music21 works (Bach chorales played on one piano, with a
performer's tempo, velocities and timing jitter), in the real layout::

    MAPS/ENSTDkCl/MUS/MAPS_MUS-<name>_ENSTDkCl.wav   44.1 kHz 16-bit stereo
    MAPS/ENSTDkCl/MUS/MAPS_MUS-<name>_ENSTDkCl.mid   the performance MIDI that was rendered
    MAPS/ENSTDkCl/MUS/MAPS_MUS-<name>_ENSTDkCl.txt   "OnsetTime\\tOffsetTime\\tMidiPitch" note list (s)

The note list is read back from the written ``.mid``, and the audio is rendered from that same file,
so annotation, MIDI and audio agree exactly. ``size`` = number of pieces (at most 30 s each).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pretty_midi
from tqdm import tqdm

from common.audio import save_audio
from common.corpora import scores
from common.corpora.manifest import Skips
from common.corpora.render import default_soundfont, render_midi
from common.errors import InputError

VERSION = 1
SIZES = {"tiny": 2, "default": 30}
SIZE_MEANS = "pieces (music21 Bach chorales played on piano, at most 30 s each)"
SAMPLE_RATE = 44100
MAX_SECONDS = 30.0
PIANO = 0


def maps_stem(work: str) -> str:
    """``bach/bwv153.1`` -> ``MAPS_MUS-bach-bwv153-1_ENSTDkCl``."""
    return f"MAPS_MUS-{work.replace('/', '-').replace('.', '-')}_ENSTDkCl"


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
    folder = out / "MAPS" / "ENSTDkCl" / "MUS"
    folder.mkdir(parents=True)
    works = list(scores.chorale_names())
    rng.shuffle(works)
    skips, items = Skips(), []
    progress = tqdm(total=size, desc="maps", unit="piece", leave=False)
    for work in works:
        if len(items) == size:
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
        audio = render_midi(midi, SAMPLE_RATE, tail=1.0, stereo=True)
        if np.abs(audio).max() < 1e-4:
            skips.add("silent rendering", work)
            continue
        stem = folder / maps_stem(work)
        save_audio(stem.with_suffix(".wav"), audio * (0.8 / np.abs(audio).max()), SAMPLE_RATE, "PCM_16")
        stem.with_suffix(".mid").write_bytes(buffer.getvalue())
        write_note_list(stem.with_suffix(".txt"), midi)
        items.append({"name": stem.name, "work": work, "bpm": bpm, "notes": len(midi.instruments[0].notes)})
        progress.update()
    progress.close()
    if len(items) < size:
        raise InputError(f"maps: only {len(items)} of {size} pieces could be made; use a smaller size "
                         "(see skipped counts)")
    return {
        "stands_in_for": "MAPS ENSTDkCl (Emiya et al. 2010)", "sample_rate": SAMPLE_RATE, "channels": "stereo",
        "how": "music21 Bach chorales -> one piano part with performed tempo/velocity/timing -> .mid; "
               "audio rendered from that .mid with tinysoundfont (GM program 0)",
        "soundfont": default_soundfont().name, "program": PIANO,
        "skipped": skips.report("maps"), "items": items,
    }
