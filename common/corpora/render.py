"""Soundfont rendering of a ``pretty_midi.PrettyMIDI`` to a float32 waveform with tinysoundfont, and the room
and microphone it is recorded with (:func:`record_in_room`: reverb, EQ, level).

The default soundfont is ``TimGM6mb.sf2``, the 6 MB General MIDI soundfont bundled inside pretty_midi; the
Debian GM soundfonts of ``SOUNDFONTS`` are found by name (:func:`soundfont`).
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


# name -> (file, Debian package that installs it; None: bundled with pretty_midi). Each renders GM programs 0-2
# (pianos) non-silent in tinysoundfont (tests/common/test_corpora.py); FluidR3_GS (GS variation banks only)
# and the MuseScore pianos (near-silent in tinysoundfont) are left out.
SOUNDFONTS = {
    "TimGM6mb": ("TimGM6mb.sf2", None),
    "FluidR3_GM": ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "fluid-soundfont-gm"),
    "sf_GMbank": ("/usr/share/sounds/sf2/sf_GMbank.sf2", "csound-soundfont"),
}


def default_soundfont() -> Path:
    """Path of the General MIDI soundfont bundled with pretty_midi."""
    return Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"


def soundfont(name: str) -> Path:
    """Path of soundfont ``name`` (a key of ``SOUNDFONTS``); ``InputError`` saying how to install it."""
    if name not in SOUNDFONTS:
        raise InputError(f"unknown soundfont {name!r}; use one of {', '.join(SOUNDFONTS)}")
    file, package = SOUNDFONTS[name]
    path = default_soundfont() if package is None else Path(file)
    if not path.is_file():
        raise InputError(f"soundfont {name} not found at {path}: install the Debian package {package} "
                         "(`sudo bash scripts/install_system.sh`)")
    return path


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


def record_in_room(audio: np.ndarray, sample_rate: int, rt60: float, wet: float, tilt_db: float, peak_hz: float,
                   peak_db: float, level_db: float, seed: int) -> np.ndarray:
    """A rendering as recorded in a room, ``(channels, n)`` -> ``(channels, n)`` float32, same length.

    Reverb: convolution with an exponentially decaying noise tail (``rt60`` s to -60 dB, independent per
    channel, 10 ms pre-delay), mixed in at ``wet`` of the dry energy. Microphone EQ: a spectral tilt of
    ``tilt_db`` per octave around 1 kHz plus a one-octave-wide bell of ``peak_db`` at ``peak_hz`` (each
    clipped to +-12 dB). Level: the peak scaled to ``level_db`` dBFS.
    """
    from scipy import fft

    audio = np.atleast_2d(np.asarray(audio, dtype=np.float32))
    rng = np.random.default_rng(seed)
    t = np.arange(int(rt60 * sample_rate)) / sample_rate
    delay = np.zeros(int(0.01 * sample_rate))
    tails = np.stack([np.concatenate([delay, rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60)]) for _ in audio])
    tails = (tails / np.sqrt(np.sum(tails**2, axis=1, keepdims=True))).astype(np.float32)
    n = fft.next_fast_len(audio.shape[1] + tails.shape[1])  # room for the reverb tail: no wrap-around
    freqs = np.maximum(np.fft.rfftfreq(n, 1 / sample_rate), 20.0)
    gain_db = np.clip(tilt_db * np.log2(freqs / 1000.0), -12, 12)
    gain_db += np.clip(peak_db, -12, 12) * np.exp(-0.5 * (np.log2(freqs / peak_hz) / 0.5) ** 2)
    room = (1 + np.sqrt(wet) * fft.rfft(tails, n, axis=1)) * (10 ** (gain_db / 20)).astype(np.float32)
    out = fft.irfft(fft.rfft(audio, n, axis=1) * room, n, axis=1)[:, : audio.shape[1]]
    return (out * (10 ** (level_db / 20) / max(np.abs(out).max(), 1e-12))).astype(np.float32)
