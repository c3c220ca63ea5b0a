"""Random little songs for the singing corpora: English lyric lines, a diatonic melody per line with one
note per syllable, and a chord progression with bass in the same key and tempo.

Times are in seconds, pitches are MIDI note numbers; everything is drawn from a ``numpy`` Generator so a
seed fixes the song.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pretty_midi

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
BEATS_PER_BAR = 4

WORDS = (
    "love heart night light sky moon sun rain home dream sing song fly away river ocean star shine hold "
    "hand time day sweet dear golden morning evening summer winter wind blue green silver forever never "
    "always together little world road stay go come you me we my your the and in on of to is all with so "
    "will be can see feel know hear call shadow window garden flower tree mountain valley water fire snow "
    "bird wing soft bright slow long far near again tonight tomorrow remember believe wonder hope smile "
    "kiss gentle quiet open free deep high low wide old new way over under every only one wait run walk "
    "dance turn fall rise light sea shore sail boat cloud gray white warm cold spring leaves morning lady "
    "baby darling honey town city lonely happy slowly softly calling waiting dreaming shining falling"
).split()

# chord roots as scale degrees (0 = tonic); each progression is looped over a phrase's bars
PROGRESSIONS = ((0, 3, 4, 0), (0, 5, 3, 4), (0, 4, 5, 3), (5, 3, 0, 4), (0, 1, 4, 0), (0, 3, 0, 4))
CHORD_PROGRAMS = (0, 4, 24, 25, 48, 19)  # piano, e-piano, nylon/steel guitar, strings, organ
BASS_PROGRAMS = (32, 33, 34)
DURATIONS_BEATS = (0.5, 1.0, 1.0, 1.0, 1.5, 2.0)


@dataclass(frozen=True)
class Note:
    start: float  # seconds from the phrase's start
    end: float
    pitch: int  # MIDI


@dataclass(frozen=True)
class Phrase:
    """One sung line: its lyrics, one note per syllable, and the chord root (MIDI pitch class) per bar."""

    lyrics: str
    notes: tuple[Note, ...]
    chord_roots: tuple[int, ...]
    bpm: float
    tonic: int  # pitch class 0-11

    @property
    def bar_seconds(self) -> float:
        return BEATS_PER_BAR * 60.0 / self.bpm

    @property
    def duration(self) -> float:
        return len(self.chord_roots) * self.bar_seconds


def lyric_line(rng: np.random.Generator, n_words: int) -> str:
    """``n_words`` words drawn from a small singable English vocabulary."""
    return " ".join(rng.choice(WORDS, size=n_words))


def scale_pitches(tonic: int, low: int, high: int) -> list[int]:
    """MIDI pitches of the major scale on ``tonic`` (pitch class) within ``[low, high]``."""
    return [p for p in range(low, high + 1) if (p - tonic) % 12 in MAJOR_SCALE]


def chord_tones(tonic: int, degree: int) -> set[int]:
    """Pitch classes of the diatonic triad on scale ``degree`` of the major key on ``tonic``."""
    return {(tonic + MAJOR_SCALE[(degree + k) % 7]) % 12 for k in (0, 2, 4)}


def make_phrase(
    rng: np.random.Generator, lyrics: str, n_syllables: int, tonic: int, bpm: float, low: int, high: int,
    durations: tuple[float, ...] = DURATIONS_BEATS,
) -> Phrase:
    """A melody of ``n_syllables`` notes in ``[low, high]`` with note lengths (beats) drawn from
    ``durations``: a one-beat pickup rest, mostly stepwise motion, chord tones on beats 1 and 3, the
    last note on the tonic held to the end of its bar."""
    beat = 60.0 / bpm
    beats = [float(rng.choice(durations)) for _ in range(n_syllables)]
    beats[-1] = 2.0
    onsets = np.concatenate([[1.0], 1.0 + np.cumsum(beats)[:-1]])
    n_bars = int(np.ceil((onsets[-1] + beats[-1]) / BEATS_PER_BAR))
    beats[-1] = n_bars * BEATS_PER_BAR - onsets[-1]
    progression = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
    degrees = [progression[b % len(progression)] for b in range(n_bars)]
    degrees[-1] = 0
    scale = scale_pitches(tonic, low, high)
    index = len(scale) // 2
    notes = []
    for k, (onset, length) in enumerate(zip(onsets, beats)):
        index = int(np.clip(index + rng.choice((-2, -1, -1, 0, 1, 1, 2)), 0, len(scale) - 1))
        bar = int(onset // BEATS_PER_BAR)
        if k == n_syllables - 1:
            wanted = {tonic}
        elif onset % 2 == 0:
            wanted = chord_tones(tonic, degrees[bar])
        else:
            wanted = set()
        if wanted:
            index = min((i for i in range(len(scale)) if scale[i] % 12 in wanted), key=lambda i: abs(i - index))
        notes.append(Note(onset * beat, (onset + length) * beat, scale[index]))
    roots = tuple((tonic + MAJOR_SCALE[d]) % 12 for d in degrees)
    return Phrase(lyrics, tuple(notes), roots, bpm, tonic)


def accompaniment(phrase: Phrase, chord_program: int, bass_program: int, rng: np.random.Generator):
    """Chords (block on beats 1 and 3, or eighth-note arpeggios) and a root bass line for ``phrase``,
    as a ``pretty_midi.PrettyMIDI`` covering exactly the phrase's bars."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=phrase.bpm)
    chords = pretty_midi.Instrument(program=chord_program, name="chords")
    bass = pretty_midi.Instrument(program=bass_program, name="bass")
    beat = 60.0 / phrase.bpm
    arpeggio = bool(rng.integers(2))
    for bar, root in enumerate(phrase.chord_roots):
        t0 = bar * phrase.bar_seconds
        degree = [(phrase.tonic + s) % 12 for s in MAJOR_SCALE].index(root)
        triad = sorted(55 + (pc - 55) % 12 for pc in chord_tones(phrase.tonic, degree))
        if arpeggio:
            for k in range(2 * BEATS_PER_BAR):
                pitch = triad[(0, 1, 2, 1)[k % 4]]
                chords.notes.append(pretty_midi.Note(62, pitch, t0 + k * beat / 2, t0 + (k + 1) * beat / 2))
        else:
            for half in (0, 2):
                for pitch in triad:
                    chords.notes.append(pretty_midi.Note(58, pitch, t0 + half * beat, t0 + (half + 2) * beat))
        bass_pitch = 36 + (root - 36) % 12
        for half in (0, 2):
            bass.notes.append(pretty_midi.Note(80, bass_pitch, t0 + half * beat, t0 + (half + 1.8) * beat))
    midi.instruments += [chords, bass]
    return midi
