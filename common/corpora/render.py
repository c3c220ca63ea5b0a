"""Soundfont rendering of a ``pretty_midi.PrettyMIDI`` to a float32 waveform with tinysoundfont.

The default soundfont is ``TimGM6mb.sf2``, the 6 MB General MIDI soundfont bundled inside pretty_midi.
Rendering is deterministic: a fresh synthesizer per call, events applied at exact sample positions.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pretty_midi

from common.errors import InputError

DRUM_CHANNEL = 9
SUSTAIN_CC = 64


def default_soundfont() -> Path:
    """Path of the General MIDI soundfont bundled with pretty_midi."""
    return Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"


@functools.lru_cache(maxsize=4)
def _soundfont_bytes(path: str) -> bytes:
    file = Path(path)
    if not file.is_file():
        raise InputError(
            f"soundfont not found: {file} (TimGM6mb.sf2 ships inside pretty_midi: "
            "`.venv/bin/pip install pretty_midi`; or pass another .sf2, e.g. Debian fluid-soundfont-gm)"
        )
    return file.read_bytes()


def _synth(sample_rate: int, soundfont: Path | None, gain_db: float):
    try:
        import tinysoundfont
    except ImportError as err:
        raise InputError(
            "tinysoundfont is missing: `.venv/bin/pip install --no-deps tinysoundfont`"
        ) from err
    synth = tinysoundfont.Synth(samplerate=sample_rate, gain=gain_db)
    sfid = synth.sfload(_soundfont_bytes(str(soundfont or default_soundfont())))
    return synth, sfid


def _channel_plan(midi: pretty_midi.PrettyMIDI) -> list[int]:
    """A MIDI channel per instrument: drums on channel 9, each melodic instrument its own channel while
    the 15 melodic channels last, then sharing the channel of an instrument with the same program."""
    free = [c for c in range(16) if c != DRUM_CHANNEL]
    by_program: dict[int, int] = {}
    channels = []
    for inst in midi.instruments:
        if inst.is_drum:
            channels.append(DRUM_CHANNEL)
        elif free:
            channels.append(free.pop(0))
            by_program.setdefault(inst.program, channels[-1])
        elif inst.program in by_program:
            channels.append(by_program[inst.program])
        else:
            raise InputError("more than 15 melodic instruments with distinct programs in one MIDI; cannot render")
    return channels


def _events(midi: pretty_midi.PrettyMIDI, channels: list[int], sample_rate: int) -> list[tuple]:
    """(sample, order, kind, channel, a, b) sorted; note-offs sort before note-ons at the same sample."""
    events = []
    for inst, chan in zip(midi.instruments, channels):
        for note in inst.notes:
            start = round(note.start * sample_rate)
            end = max(round(note.end * sample_rate), start + 1)
            events.append((start, 2, "on", chan, note.pitch, note.velocity))
            events.append((end, 0, "off", chan, note.pitch, 0))
        for bend in inst.pitch_bends:
            events.append((round(bend.time * sample_rate), 1, "bend", chan, bend.pitch + 8192, 0))
        for cc in inst.control_changes:
            events.append((round(cc.time * sample_rate), 1, "cc", chan, cc.number, cc.value))
    events.sort(key=lambda e: e[:2] + (e[3], e[4]))
    return events


def render_midi(
    midi: pretty_midi.PrettyMIDI,
    sample_rate: int,
    soundfont: Path | None = None,
    tail: float = 1.0,
    stereo: bool = False,
    gain_db: float = -6.0,
) -> np.ndarray:
    """Render ``midi`` with a General MIDI soundfont.

    Returns float32 audio at ``sample_rate`` Hz: shape ``(n,)`` (mean of the synth's two channels) or
    ``(2, n)`` if ``stereo`` (the project's ``(channels, samples)`` convention); ``n`` covers the last
    note-off plus ``tail`` seconds of release.
    Programs and drums follow each ``pretty_midi.Instrument``; pitch bends and control changes
    (e.g. sustain pedal) are applied. Raises ``InputError`` if the soundfont is missing.
    """
    synth, sfid = _synth(sample_rate, soundfont, gain_db)
    channels = _channel_plan(midi)
    for inst, chan in zip(midi.instruments, channels):
        synth.program_select(chan, sfid, 128 if inst.is_drum else 0, 0 if inst.is_drum else inst.program,
                             is_drums=inst.is_drum)
    events = _events(midi, channels, sample_rate)
    total = (events[-1][0] if events else 0) + round(tail * sample_rate)
    out = np.zeros((total, 2), dtype=np.float32)
    cursor = 0
    for sample, _, kind, chan, a, b in events + [(total, 0, "end", 0, 0, 0)]:
        if sample > cursor:
            out[cursor:sample] = np.frombuffer(synth.generate_simple(sample - cursor), np.float32).reshape(-1, 2)
            cursor = sample
        if kind == "on":
            synth.noteon(chan, a, b)
        elif kind == "off":
            synth.noteoff(chan, a)
        elif kind == "bend":
            synth.pitchbend(chan, a)
        elif kind == "cc":
            synth.control_change(chan, a, b)
    return np.ascontiguousarray(out.T) if stereo else out.mean(axis=1)


def render_notes(
    notes: list[tuple[float, float, int, int]],
    program: int,
    sample_rate: int,
    soundfont: Path | None = None,
    tail: float = 1.0,
) -> np.ndarray:
    """Render ``(start_s, end_s, midi_pitch, velocity)`` notes on one GM ``program``; mono float32."""
    midi = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=program)
    inst.notes = [pretty_midi.Note(velocity=v, pitch=p, start=s, end=e) for s, e, p, v in notes]
    midi.instruments.append(inst)
    return render_midi(midi, sample_rate, soundfont=soundfont, tail=tail)
