"""music21 corpus works -> ``pretty_midi.PrettyMIDI``, read note by note (ties merged, offsets in quarter
notes times 60/bpm) instead of ``score.write('midi')``, which raises on some malformed repeats.

Times are seconds, pitches MIDI numbers. A work that cannot be parsed or has no notes raises
:class:`ScoreError`, which the generators count and skip.
"""

from __future__ import annotations

import functools
import logging
import warnings

import pretty_midi

from common.errors import InputError

log = logging.getLogger(__name__)


class ScoreError(InputError):
    """A music21 work could not be parsed or converted (the generators skip it with a count)."""


@functools.lru_cache(maxsize=1)
def chorale_names() -> tuple[str, ...]:
    """music21 corpus names of the Bach chorales (``"bach/bwv269"``, ...), in music21's order; its
    iterator lists 21 of them twice, which are kept once (350 names)."""
    from music21 import corpus

    return tuple(dict.fromkeys(str(name) for name in corpus.chorales.Iterator(returnType="filename")))


def score_to_midi(score, programs: list[int], bpm: float, max_seconds: float | None = None,
                  n_parts: int | None = None, velocity: int = 80) -> pretty_midi.PrettyMIDI:
    """One instrument per part (program ``programs[i % len(programs)]``), the first ``n_parts`` parts;
    notes starting after ``max_seconds`` are dropped and the last ones cut there. Grace notes are
    skipped; chords give one note per pitch; music21 velocities are used when the score has them."""
    seconds_per_quarter = 60.0 / bpm
    midi = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    parts = list(score.parts) or [score]
    for i, part in enumerate(parts[:n_parts]):
        inst = pretty_midi.Instrument(program=programs[i % len(programs)], name=str(part.partName or f"part{i}"))
        for element in part.stripTies().flatten().notes:
            start = float(element.offset) * seconds_per_quarter
            end = start + float(element.quarterLength) * seconds_per_quarter
            if end <= start or (max_seconds is not None and start >= max_seconds):
                continue
            if max_seconds is not None:
                end = min(end, max_seconds)
            note_velocity = int(element.volume.velocity or velocity)
            for pitch in element.pitches:
                inst.notes.append(pretty_midi.Note(note_velocity, int(pitch.midi), start, end))
        midi.instruments.append(inst)
    if not any(inst.notes for inst in midi.instruments):
        raise ScoreError("no notes")
    return midi


def load_work(name: str, programs: list[int], bpm: float, max_seconds: float | None = None,
              n_parts: int | None = None) -> pretty_midi.PrettyMIDI:
    """Parse music21 corpus work ``name`` and convert it with :func:`score_to_midi`."""
    from music21 import corpus

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            score = corpus.parse(name)
        return score_to_midi(score, programs, bpm, max_seconds, n_parts)
    except ScoreError as err:
        raise ScoreError(f"{name}: {err}") from err
    except Exception as err:  # music21 raises many exception types on malformed files
        raise ScoreError(f"{name}: cannot convert ({type(err).__name__}: {err})") from err


def merge_to_one_instrument(midi: pretty_midi.PrettyMIDI, program: int) -> pretty_midi.PrettyMIDI:
    """All notes on one instrument, as one keyboard plays them: a unison keeps one note, and a key struck
    again while sounding ends the earlier note at the new onset."""
    notes = sorted((n for inst in midi.instruments for n in inst.notes), key=lambda n: (n.start, n.pitch, -n.end))
    sounding: dict[int, pretty_midi.Note] = {}
    kept = []
    for note in notes:
        previous = sounding.get(note.pitch)
        if previous is not None and previous.end > note.start:
            if previous.start == note.start:
                continue
            previous.end = note.start
        sounding[note.pitch] = note
        kept.append(note)
    merged = pretty_midi.PrettyMIDI(initial_tempo=midi.get_tempo_changes()[1][0])
    inst = pretty_midi.Instrument(program=program)
    inst.notes = kept
    merged.instruments.append(inst)
    return merged
