"""Inputs no training corpus uses: the held-out condition of every report's "On new inputs" section.

Every synthetic corpus is rendered by tinysoundfont (TimGM6mb, FluidR3_GM, sf_GMbank) or spoken by MBROLA
voices. The held-out inputs come from other engines and sounds, and the corpora must never use them:

- melodies rendered by **FluidSynth** with the **MuseScore General** soundfont (:func:`render_soundfont`);
- melodies from the project's own **additive synthesiser** (:func:`additive`: a harmonic series with its own
  spectral tilt, vibrato and envelope);
- speech from **espeak-ng's formant voices** (:func:`speak`), not its MBROLA voices.

Melodies (:func:`random_melody`) are drawn from a seed, a random walk inside a pitch range with random
durations, so each report's inputs are fixed and a re-run with other seeds gives other melodies.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pretty_midi

from common.audio import load_audio
from common.errors import InputError

HELDOUT_SOUNDFONT = Path("/usr/share/sounds/sf3/MuseScore_General.sf3")  # Debian musescore-general-soundfont-small
SYSTEM_PACKAGES = "fluidsynth musescore-general-soundfont-small espeak-ng"
# espeak-ng formant voices (language + variant), none of them an MBROLA voice
MALE_VOICES = ("en-us+m3", "en+m5", "en-gb-x-rp+m2")
FEMALE_VOICES = ("en-us+f3", "en+f2", "en-gb-x-rp+f4")
CHANNELS = tuple(c for c in range(16) if c != 9)  # MIDI channels of melodic instruments (9 is percussion)
TAIL_SECONDS = 1.0  # release kept after a melody's last note
SPACING = 2.0  # s of silence between the melodies of one FluidSynth call: FluidSynth's reverb has died away by then
SENTENCES = (
    "the river carried our small boat far past the quiet town",
    "every morning she walked along the windy shore to find new shells",
    "bright lanterns hung above the market when the evening came",
    "we counted the stars until the cold night faded into blue",
)


@dataclass(frozen=True)
class Melody:
    """Notes ``(onset s, offset s, MIDI pitch)``, in time order, without overlaps."""

    notes: tuple[tuple[float, float, float], ...]

    @property
    def seconds(self) -> float:
        return self.notes[-1][1]

    def pitches(self) -> np.ndarray:
        return np.array([n[2] for n in self.notes])

    def f0(self, times: np.ndarray) -> np.ndarray:
        """The melody's F0 in Hz at ``times`` (s); 0 between notes."""
        out = np.zeros(len(times))
        for onset, offset, midi in self.notes:
            out[(times >= onset) & (times < offset)] = pretty_midi.note_number_to_hz(midi)
        return out

    def transposed(self, semitones: float) -> Melody:
        return Melody(tuple((a, b, p + semitones) for a, b, p in self.notes))

    def delayed(self, seconds: float) -> Melody:
        return Melody(tuple((a + seconds, b + seconds, p) for a, b, p in self.notes))

    def to_midi(self, program: int = 0, velocity: int = 96) -> pretty_midi.PrettyMIDI:
        midi = pretty_midi.PrettyMIDI()
        instrument = pretty_midi.Instrument(program=program)
        instrument.notes = [pretty_midi.Note(velocity, int(round(p)), a, b) for a, b, p in self.notes]
        midi.instruments.append(instrument)
        return midi


def random_melody(seed: int, low: int, high: int, n_notes: int = 8, note_seconds: tuple[float, float] = (0.3, 0.7),
                  rest_seconds: float = 0.05, max_step: int = 5, start: float = 0.1) -> Melody:
    """A random walk of ``n_notes`` whole MIDI pitches in ``[low, high]`` (steps of at most ``max_step``
    semitones, never repeating a pitch twice in a row), durations uniform in ``note_seconds``, ``rest_seconds``
    between notes."""
    if high - low < 1:
        raise ValueError(f"a melody needs a range of at least 2 pitches, got [{low}, {high}]")
    rng = np.random.default_rng(seed)
    pitch, t, notes = int(rng.integers(low, high + 1)), start, []
    for _ in range(n_notes):
        length = float(rng.uniform(*note_seconds))
        notes.append((round(t, 4), round(t + length, 4), float(pitch)))
        t += length + rest_seconds
        steps = [s for s in range(-max_step, max_step + 1) if s and low <= pitch + s <= high]
        pitch += int(rng.choice(steps))
    return Melody(tuple(notes))


def _need(command: str, what: str) -> str:
    path = shutil.which(command)
    if path is None:
        raise InputError(f"{command} is not installed, and {what} needs it: install the Debian packages "
                         f"{SYSTEM_PACKAGES} (`sudo bash scripts/install_system.sh`)")
    return path


def render_soundfont(melody: Melody, program: int, sample_rate: int, gain: float = 0.6) -> np.ndarray:
    """``melody`` on GM ``program`` of the held-out soundfont, rendered by FluidSynth; mono float32 at
    ``sample_rate``, peak-normalised to 0.5, one second of release kept after the last note."""
    return render_soundfont_many([(melody, program)], sample_rate, gain)[0]


def render_soundfont_many(items: list[tuple[Melody, int]], sample_rate: int, gain: float = 0.6) -> list[np.ndarray]:
    """Each ``(melody, GM program)`` as :func:`render_soundfont` renders it, from one FluidSynth call (loading the
    soundfont takes about 3 s, rendering a melody a fraction of that): the melodies play one after another,
    ``SPACING`` s of silence after each one's kept release, one channel per program, and are cut apart."""
    fluidsynth = _need("fluidsynth", "the held-out soundfont rendering")
    if not HELDOUT_SOUNDFONT.is_file():
        raise InputError(f"{HELDOUT_SOUNDFONT}: not found; install the Debian packages {SYSTEM_PACKAGES}")
    programs = sorted({program for _, program in items})
    if len(programs) > len(CHANNELS):  # one call per 15 programs
        first = set(programs[: len(CHANNELS)])
        out: list[np.ndarray] = [np.zeros(0, np.float32)] * len(items)
        for part in (True, False):
            picked = [k for k, (_, program) in enumerate(items) if (program in first) == part]
            for k, clip in zip(picked, render_soundfont_many([items[k] for k in picked], sample_rate, gain)):
                out[k] = clip
        return out
    midi = pretty_midi.PrettyMIDI()  # 120 bpm, 220 ticks a beat: offsets on whole ticks keep each note's rounding
    tick = midi.tick_to_time(1)
    instruments = {program: pretty_midi.Instrument(program=program) for program in programs}
    offsets, offset = [], 0.0
    for melody, program in items:
        offsets.append(offset)
        instruments[program].notes += melody.delayed(offset).to_midi(program).instruments[0].notes
        offset += np.ceil((melody.seconds + TAIL_SECONDS + SPACING) / tick) * tick
    midi.instruments = [instruments[p] for p in programs]  # pretty_midi gives the n-th one channel CHANNELS[n]
    with tempfile.TemporaryDirectory() as tmp:
        mid, wav = Path(tmp) / "melodies.mid", Path(tmp) / "melodies.wav"
        midi.write(str(mid))
        subprocess.run([fluidsynth, "-ni", "-q", "-g", str(gain), "-r", "44100", "-F", str(wav),
                        str(HELDOUT_SOUNDFONT), str(mid)], check=True, capture_output=True)
        audio = load_audio(wav, sample_rate)
    out = []
    for (melody, _), start in zip(items, offsets):
        begin, length = round(start * sample_rate), int((melody.seconds + TAIL_SECONDS) * sample_rate)
        clip = audio[begin: begin + length]
        out.append(_normalise(np.pad(clip, (0, length - len(clip)))))
    return out


def additive(melody: Melody, sample_rate: int, harmonics: int = 12, tilt_db: float = -6.0,
             vibrato_cents: float = 15.0, vibrato_hz: float = 5.5, attack: float = 0.03,
             release: float = 0.08) -> np.ndarray:
    """``melody`` from the project's own additive synthesiser: harmonics up to Nyquist falling ``tilt_db`` per
    octave, a sine vibrato, linear attack and release; mono float32 peak 0.5, 0.3 s of silence after the end."""
    n = int((melody.seconds + 0.3) * sample_rate)
    t = np.arange(n) / sample_rate
    out = np.zeros(n)
    for onset, offset, midi in melody.notes:
        i0, i1 = int(onset * sample_rate), min(n, int((offset + release) * sample_rate))
        tt = t[i0:i1] - onset
        f0 = pretty_midi.note_number_to_hz(midi) * 2 ** (vibrato_cents / 1200 * np.sin(2 * np.pi * vibrato_hz * tt))
        phase = 2 * np.pi * np.cumsum(f0) / sample_rate
        env = np.clip(tt / attack, 0, 1) * np.clip((offset + release - onset - tt) / release, 0, 1)
        tone = sum(10 ** (tilt_db * np.log2(k) / 20) * np.sin(k * phase) * (k * f0 < sample_rate / 2)
                   for k in range(1, harmonics + 1))
        out[i0:i1] += env * tone
    return _normalise(out.astype(np.float32))


def speak(text: str, voice: str, sample_rate: int, words_per_minute: int = 150, pitch: int = 50) -> np.ndarray:
    """``text`` spoken by espeak-ng's formant ``voice`` (e.g. ``en-us+m3``); mono float32 at ``sample_rate``,
    peak 0.5."""
    espeak = _need("espeak-ng", "the held-out speech")
    if voice.startswith("mb-"):
        raise ValueError(f"{voice} is an MBROLA voice, which the corpora use; take a formant voice")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        subprocess.run([espeak, "-v", voice, "-s", str(words_per_minute), "-p", str(pitch), "-w", str(wav), text],
                       check=True, capture_output=True)
        audio = load_audio(wav, sample_rate)
    voiced = np.flatnonzero(np.abs(audio) > 1e-3 * np.abs(audio).max())
    return _normalise(audio[voiced[0]: voiced[-1] + 1])


def _normalise(audio: np.ndarray, peak: float = 0.5) -> np.ndarray:
    top = float(np.abs(audio).max())
    return (audio * (peak / top) if top > 0 else audio).astype(np.float32)
