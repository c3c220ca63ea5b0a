"""MIR-1K stand-in: karaoke clips with the accompaniment on the left channel and the singing voice on the
right, 16 kHz 16-bit stereo, in the real layout::

    MIR-1K/Wavfile/<singer>_<song>_<nn>.wav    left = accompaniment, right = voice
    MIR-1K/PitchLabel/<singer>_<song>_<nn>.pv  sung pitch in MIDI semitones per 20 ms frame, 0 = unvoiced
                                               (frame i spans [0.02 i, 0.02 i + 0.04] s, centre 0.02 (i+1))
    MIR-1K/Lyrics/<singer>_<song>_<nn>.txt     the sung words

The voice is an MBROLA voice singing random English lines on a generated melody (one note per
syllable, vibrato); the accompaniment is soundfont chords and bass in the same key and tempo. Singers
are the four MBROLA voices, assigned to songs in turn. ``size`` = number of songs, 4 clips each.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from tqdm import tqdm

from common.audio import save_audio
from common.corpora import songs, speech
from common.corpora.manifest import Skips
from common.corpora.render import default_soundfont, render_midi

log = logging.getLogger(__name__)

VERSION = 1
SIZES = {"tiny": 2, "default": 16}
SIZE_MEANS = "songs (4 clips each, one sung line per clip)"
SAMPLE_RATE = 16000
CLIPS_PER_SONG = 4
PV_FRAME, PV_HOP = 0.04, 0.02
VOICE_RANGES = {"F": (57, 74), "M": (45, 62)}  # MIDI range of the sung melody per voice gender


def singer_name(voice: str) -> str:
    """MIR-1K-style singer id (no underscore) of an MBROLA voice, e.g. ``us1f``."""
    return f"{voice}{speech.VOICES[voice].lower()}"


def pitch_labels(phones: list[speech.Phone], n_samples: int) -> np.ndarray:
    """The MIR-1K ``.pv`` values for a clip of ``n_samples`` at 16 kHz: semitones, 0 where unvoiced."""
    frame, hop = round(PV_FRAME * SAMPLE_RATE), round(PV_HOP * SAMPLE_RATE)
    n_frames = max(0, (n_samples - frame) // hop + 1)
    f0 = speech.f0_contour(phones, PV_HOP * (np.arange(n_frames) + 1))
    return np.where(f0 > 0, 69 + 12 * np.log2(np.maximum(f0, 1e-6) / 440.0), 0.0)


def _mix(accompaniment: np.ndarray, voice: np.ndarray, snr_db: float) -> np.ndarray:
    """(2, n): accompaniment left and voice right at voice-to-accompaniment RMS ratio ``snr_db``."""
    voice = voice / (np.sqrt(np.mean(voice**2)) + 1e-9) * 0.1
    accompaniment = accompaniment / (np.sqrt(np.mean(accompaniment**2)) + 1e-9) * 0.1 * 10 ** (-snr_db / 20)
    stereo = np.stack([accompaniment, voice])
    return stereo * min(1.0, 0.95 / np.abs(stereo).max())


def build(out: Path, size: int, seed: int) -> dict:
    voices = list(speech.VOICES)
    speech.require_voices(voices)
    rng = np.random.default_rng(seed)
    base = out / "MIR-1K"
    skips, items = Skips(), []
    progress = tqdm(total=size * CLIPS_PER_SONG, desc="mir1k", unit="clip", leave=False)
    for song in range(1, size + 1):
        voice = voices[(song - 1) % len(voices)]
        low, high = VOICE_RANGES[speech.VOICES[voice]]
        tonic, bpm = int(rng.integers(12)), float(rng.integers(80, 121))
        chord_program = int(rng.choice(songs.CHORD_PROGRAMS))
        bass_program = int(rng.choice(songs.BASS_PROGRAMS))
        vibrato = speech.Vibrato(float(rng.uniform(5.0, 6.5)), float(rng.uniform(20, 45)))
        for clip in range(1, CLIPS_PER_SONG + 1):
            name = f"{singer_name(voice)}_{song}_{clip:02d}"
            progress.update()
            lyrics = songs.lyric_line(rng, int(rng.integers(5, 9)))
            phones = speech.text_to_phones(lyrics, voice)
            phrase = songs.make_phrase(rng, lyrics, len(speech.nuclei(phones)), tonic, bpm, low, high)
            track = speech.sing_phrase(phrase, phones, vibrato)
            sung = speech.synthesize(track, voice)
            backing = render_midi(songs.accompaniment(phrase, chord_program, bass_program, rng),
                                  SAMPLE_RATE, tail=0.0)
            backing = np.pad(backing[: len(sung)], (0, max(0, len(sung) - len(backing))))
            snr_db = float(rng.uniform(-3, 3))
            if np.abs(sung).max() < 1e-3 or np.abs(backing).max() < 1e-3:
                skips.add("silent rendering", name)
                continue
            save_audio(base / "Wavfile" / f"{name}.wav", _mix(backing, sung, snr_db), SAMPLE_RATE, "PCM_16")
            labels = pitch_labels(track, len(sung))
            (base / "PitchLabel").mkdir(parents=True, exist_ok=True)
            (base / "PitchLabel" / f"{name}.pv").write_text("".join(f"{v:.4f}\n" for v in labels))
            (base / "Lyrics").mkdir(parents=True, exist_ok=True)
            (base / "Lyrics" / f"{name}.txt").write_text(lyrics + "\n")
            items.append({
                "name": name, "voice": voice, "lyrics": lyrics, "tonic_pc": tonic, "bpm": bpm,
                "chord_program": chord_program, "bass_program": bass_program, "snr_db": round(snr_db, 3),
                "melody": [[round(n.start, 4), round(n.end, 4), n.pitch] for n in phrase.notes],
            })
    progress.close()
    return {
        "stands_in_for": "MIR-1K (Hsu & Jang 2010)", "sample_rate": SAMPLE_RATE,
        "channels": "stereo: left accompaniment, right singing voice",
        "how": "MBROLA voices singing generated melodies (espeak-ng phones re-timed, vibrato); "
               "accompaniment chords + bass rendered with tinysoundfont",
        "soundfont": default_soundfont().name, "voices": {singer_name(v): f"mbrola-{v}" for v in voices},
        "skipped": skips.report("mir1k"), "items": items,
    }
