"""Speech and singing with exact phone timing: espeak-ng (text -> phones with durations and pitch) and
MBROLA diphone voices (phones -> 16 kHz mono audio).

A phone list is the MBROLA ``.pho`` content: voice-specific SAMPA symbols, integer durations in ms and
pitch points ``(percent of the phone, Hz)``. MBROLA's output is padded/trimmed to exactly the sum of the
durations, so phone boundaries are known to the sample. Singing re-times the same phones onto a melody:
consonants keep (at most) their spoken length, each syllable nucleus fills the rest of its note, and the
pitch follows the note with vibrato; :func:`f0_contour` gives the F0 actually produced (MBROLA's pitch
periods are whole samples). Labels are ARPAbet (CMU set, lower case, ``sil`` for silence).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.errors import InputError

SAMPLE_RATE = 16000
VOICE_DIRS = (Path("/usr/share/mbrola"), Path("/usr/local/share/mbrola"))
VOICES = {"us1": "F", "us2": "M", "us3": "M", "en1": "M"}  # MBROLA voice -> gender
INSTALL_HINT = "run `sudo bash scripts/install_system.sh` (Debian contrib/non-free)"
# espeak-ng's us3 voice emits "O2", which the us3 database lacks (MBROLA would sing silence instead)
SYMBOL_FIXES = {"us3": {"O2": "O"}}
MAX_PITCH_POINTS = 60  # MBROLA rejects .pho lines longer than ~1 kB

# SAMPA symbols of the us1/us2/us3 (American) and en1 (British) voices -> ARPAbet
ARPABET = {
    "_": "sil", "p": "p", "p_h": "p", "t": "t", "t_h": "t", "4": "t", "k": "k", "k_h": "k", "b": "b",
    "d": "d", "g": "g", "f": "f", "v": "v", "s": "s", "z": "z", "S": "sh", "Z": "zh", "T": "th",
    "D": "dh", "h": "hh", "tS": "ch", "dZ": "jh", "m": "m", "n": "n", "N": "ng", "l": "l", "l/": "l",
    "l=": "l", "5": "l", "r": "r", "w": "w", "j": "y",
    "@": "ah", "V": "ah", "{": "ae", "A": "aa", "A:": "aa", "Q": "aa", "O": "ao", "O2": "ao", "O:": "ao",
    "E": "eh", "e": "eh", "e@": "eh", "I": "ih", "I@": "ih", "i": "iy", "i:": "iy", "U": "uh", "U@": "uh",
    "u": "uw", "u:": "uw", "o": "ow", "r=": "er", "3:": "er", "@U": "ow", "AI": "ay", "aI": "ay", "EI": "ey",
    "eI": "ey", "OI": "oy", "aU": "aw",
}
VOWELS = {"aa", "ae", "ah", "ao", "aw", "ay", "eh", "er", "ey", "ih", "iy", "ow", "oy", "uh", "uw"}
SONORANTS = VOWELS | {"m", "n", "ng", "l", "r", "w", "y"}
SUNG_VOWELS = {"@": "V"}  # a schwa is sung as a full vowel (us3's schwa is also half unvoiced); both "ah"


@dataclass(frozen=True)
class Phone:
    symbol: str  # the voice's SAMPA symbol
    ms: int  # duration in milliseconds
    pitch: tuple[tuple[float, float], ...] = ()  # (percent of the phone, Hz)

    @property
    def arpabet(self) -> str:
        try:
            return ARPABET[self.symbol]
        except KeyError:
            raise InputError(f"MBROLA phone {self.symbol!r} has no ARPAbet label; add it to ARPABET") from None


def voice_database(voice: str) -> Path:
    """Path of an MBROLA voice database, or ``InputError`` naming the Debian package to install."""
    for base in VOICE_DIRS:
        if (base / voice / voice).is_file():
            return base / voice / voice
    raise InputError(f"MBROLA voice {voice!r} is missing (Debian package mbrola-{voice}): {INSTALL_HINT}")


def require_voices(voices) -> None:
    """Check espeak-ng, mbrola and the given voices are installed; one error listing what is missing."""
    missing = [tool for tool in ("espeak-ng", "mbrola") if shutil.which(tool) is None]
    missing += [f"mbrola-{v}" for v in voices if not any((b / v / v).is_file() for b in VOICE_DIRS)]
    if missing:
        raise InputError(f"speech synthesis needs Debian package(s) {', '.join(missing)}: {INSTALL_HINT}")


def text_to_phones(text: str, voice: str) -> list[Phone]:
    """espeak-ng's phones for ``text`` with the voice's spoken durations and intonation, without the
    leading/trailing silences."""
    require_voices([voice])
    out = subprocess.run(
        ["espeak-ng", "-v", f"mb-{voice}", "-q", "--pho", text], capture_output=True, text=True, check=True
    ).stdout
    fixes = SYMBOL_FIXES.get(voice, {})
    phones = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 2:
            continue
        values = [float(v) for v in fields[2:]]
        symbol = fixes.get(fields[0], fields[0])
        phones.append(Phone(symbol, int(fields[1]), tuple(zip(values[::2], values[1::2]))))
    while phones and phones[0].symbol == "_":
        phones.pop(0)
    while phones and phones[-1].symbol == "_":
        phones.pop()
    return phones


def synthesize(phones: list[Phone], voice: str) -> np.ndarray:
    """MBROLA audio of ``phones``: float32, 16 kHz mono, exactly ``sum(ms) * 16`` samples. The rare
    diphone a voice lacks is rendered as a short silence (``mbrola -e``) instead of aborting."""
    lines = []
    for phone in phones:
        points = " ".join(f"{pos:.1f} {hz:.1f}" for pos, hz in phone.pitch)
        lines.append(f"{phone.symbol} {phone.ms} {points}".rstrip())
    result = subprocess.run(
        ["mbrola", "-e", str(voice_database(voice)), "-", "-.raw"],
        input=("\n".join(lines) + "\n").encode(), capture_output=True, check=False,
    )
    if result.returncode != 0 or not result.stdout:
        raise RuntimeError(f"mbrola ({voice}) failed: {result.stderr.decode(errors='replace')[:300]}")
    audio = np.frombuffer(result.stdout, dtype="<i2").astype(np.float32) / 32768.0
    n = sum(p.ms for p in phones) * SAMPLE_RATE // 1000
    return np.pad(audio[:n], (0, max(0, n - len(audio))))


def silence(ms: int) -> Phone:
    return Phone("_", int(ms))


def phone_labels(phones: list[Phone]) -> list[tuple[float, float, str]]:
    """``(start_s, end_s, arpabet)`` per phone; consecutive silences are merged into one ``sil``."""
    labels: list[tuple[float, float, str]] = []
    t = 0
    for phone in phones:
        label = phone.arpabet
        if labels and label == "sil" and labels[-1][2] == "sil":
            labels[-1] = (labels[-1][0], (t + phone.ms) / 1000, "sil")
        else:
            labels.append((t / 1000, (t + phone.ms) / 1000, label))
        t += phone.ms
    return labels


def nuclei(phones: list[Phone]) -> list[int]:
    """Indices of syllable nuclei (vowels and syllabic consonants): one sung note each."""
    return [i for i, p in enumerate(phones) if p.arpabet in VOWELS or p.symbol == "l="]


@dataclass(frozen=True)
class Vibrato:
    rate_hz: float = 5.5
    depth_cents: float = 30.0
    delay_ms: float = 150.0  # vibrato fades in over the next ``delay_ms`` too


def request_hz(hz):
    """The F0 to ask MBROLA for to get ``hz``: its pitch periods are whole samples,
    ``floor(16000 / F0)``, so asking half a sample lower rounds the period to the nearest instead."""
    return SAMPLE_RATE / (SAMPLE_RATE / np.asarray(hz) + 0.5)


def produced_hz(requested):
    """The F0 MBROLA produces when asked for ``requested`` Hz (whole-sample pitch periods)."""
    return SAMPLE_RATE / np.floor(SAMPLE_RATE / np.asarray(requested))


def _nucleus_points(ms: int, hz: float, vibrato: Vibrato) -> tuple[tuple[float, float], ...]:
    step = max(20.0, ms / (MAX_PITCH_POINTS - 1))
    times = np.append(np.arange(0.0, ms, step), ms)
    ramp = np.clip((times - vibrato.delay_ms) / vibrato.delay_ms, 0.0, 1.0)
    cents = vibrato.depth_cents * ramp * np.sin(2 * np.pi * vibrato.rate_hz * times / 1000)
    return tuple((round(float(100 * t / ms), 1), round(float(request_hz(hz * 2 ** (c / 1200))), 1))
                 for t, c in zip(times, cents))  # rounded as written to the .pho, so f0_contour is exact


def sing(phones: list[Phone], notes: list[tuple[int, int, float]], vibrato: Vibrato) -> list[Phone]:
    """Re-time spoken ``phones`` (silences dropped) onto legato ``notes`` ``(start_ms, end_ms, Hz)``,
    one per nucleus; the result spans ``notes[0].start`` to ``notes[-1].end``.

    Syllable k = the consonants after nucleus k-1, then nucleus k (the last one also takes the final
    consonants). Consonants keep their spoken length, squeezed to at most 40 % of the note; a nucleus
    schwa is sung as the full vowel of SUNG_VOWELS (same ARPAbet label)."""
    phones = [p for p in phones if p.symbol != "_"]
    centres = nuclei(phones)
    if len(centres) != len(notes):
        raise ValueError(f"{len(notes)} notes for {len(centres)} syllables")
    bounds = [0] + [c + 1 for c in centres[:-1]] + [len(phones)]
    sung = []
    for k, (start, end, hz) in enumerate(notes):
        syllable = phones[bounds[k]:bounds[k + 1]]
        centre = centres[k] - bounds[k]
        consonant_ms = sum(p.ms for i, p in enumerate(syllable) if i != centre)
        scale = min(1.0, 0.4 * (end - start) / max(consonant_ms, 1))
        lengths = [max(10, round(p.ms * scale)) for p in syllable]
        lengths[centre] = (end - start) - (sum(lengths) - lengths[centre])
        if lengths[centre] < 20:
            raise ValueError(f"note {k} ({end - start} ms) is too short for its {len(syllable)} phones")
        for i, (phone, ms) in enumerate(zip(syllable, lengths)):
            if i == centre:
                sung.append(Phone(SUNG_VOWELS.get(phone.symbol, phone.symbol), ms, _nucleus_points(ms, hz, vibrato)))
            else:
                steady = round(float(request_hz(hz)), 1)
                sung.append(Phone(phone.symbol, ms, ((0.0, steady), (100.0, steady))))
    return sung


def sing_phrase(phrase, phones: list[Phone], vibrato: Vibrato) -> list[Phone]:
    """``phones`` sung on a :class:`common.corpora.songs.Phrase`: silence until the first note, the
    sung syllables, silence to the end; exactly ``round(phrase.duration * 1000)`` ms long."""
    bounds = [round(n.start * 1000) for n in phrase.notes] + [round(phrase.notes[-1].end * 1000)]
    hz = [440.0 * 2 ** ((n.pitch - 69) / 12) for n in phrase.notes]
    sung = sing(phones, list(zip(bounds[:-1], bounds[1:], hz)), vibrato)
    tail = round(phrase.duration * 1000) - bounds[-1]
    return [silence(bounds[0])] * (bounds[0] > 0) + sung + [silence(tail)] * (tail > 0)


def f0_contour(phones: list[Phone], times: np.ndarray) -> np.ndarray:
    """The F0 (Hz) MBROLA produces at ``times`` (s) on sonorant phones (vowels, nasals, liquids, glides),
    0 elsewhere: the phones' pitch points interpolated linearly, then whole-sample periods."""
    knots_t, knots_hz, voiced = [], [], np.zeros(len(times), dtype=bool)
    t = 0.0
    for phone in phones:
        if phone.arpabet in SONORANTS and phone.pitch:
            for pos, hz in phone.pitch:
                knots_t.append((t + pos * phone.ms / 100) / 1000)
                knots_hz.append(hz)
            voiced |= (times >= t / 1000) & (times < (t + phone.ms) / 1000)
        t += phone.ms
    if not knots_t:
        return np.zeros(len(times))
    return np.where(voiced, produced_hz(np.interp(times, knots_t, knots_hz)), 0.0)
