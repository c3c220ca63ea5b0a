"""NUS-48E stand-in: the same lyrics read and sung by the same voice, 44.1 kHz 16-bit mono, in the real
layout::

    nus-smc-corpus_48/<SINGER>/read/<nn>.wav, <nn>.txt   spoken lyrics + phone labels
    nus-smc-corpus_48/<SINGER>/sing/<nn>.wav, <nn>.txt   sung lyrics + phone labels
    nus-smc-corpus_48/<SINGER>/sing/<nn>.f0              the melody contour sung (extra, not in NUS-48E):
                                                         "time_s f0_hz" every 10 ms, 0 = unvoiced

Phone labels are ``start end phone`` lines (seconds; ARPAbet lower case, ``sil`` for silence), exact
to the sample because MBROLA durations are set by us. Singers are the four MBROLA voices (US1F, US2M,
US3M, EN1M); songs ``01``.. are random English lyrics with a generated melody (one note per syllable),
each song shared by several singers in their own register. ``size`` = songs per singer; the song pool
has ``min(20, 2 * size)`` songs of 8 lines.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from common.audio import resample, save_audio
from common.corpora import songs, speech
from common.corpora.manifest import Skips
from common.errors import InputError

VERSION = 2  # 2: songs of 8 lines (were 4), enough held-out material for 100 test samples
SIZES = {"tiny": 1, "default": 4}
SIZE_MEANS = "songs per singer (each read and sung)"
SAMPLE_RATE = 44100
LINES_PER_SONG = 8
F0_HOP = 0.01
VOICE_RANGES = {"F": (57, 74), "M": (45, 62)}
EDGE_SILENCE_MS = 500
NOTE_BEATS = (0.5, 0.5, 1.0, 1.0, 1.5)  # note lengths in beats: brisker than the MIR-1K songs


def singer_name(voice: str) -> str:
    return f"{voice}{speech.VOICES[voice]}".upper()


def _song_text(seed: int, song: int) -> tuple[list[str], int, float]:
    """Lyric lines, tonic pitch class and tempo of a song (the same for every singer)."""
    rng = np.random.default_rng([seed, song])
    lines = [songs.lyric_line(rng, int(rng.integers(5, 8))) for _ in range(LINES_PER_SONG)]
    return lines, int(rng.integers(12)), float(rng.integers(96, 133))


def _sung(seed, song, voice, lines, tonic, bpm, vibrato):
    """Sung phones of a whole song; each line's melody depends only on the song and syllable count."""
    low, high = VOICE_RANGES[speech.VOICES[voice]]
    track, melody, offset = [speech.silence(EDGE_SILENCE_MS)], [], EDGE_SILENCE_MS / 1000
    for number, line in enumerate(lines):
        phones = speech.text_to_phones(line, voice)
        n_syllables = len(speech.nuclei(phones))
        rng = np.random.default_rng([seed, song, number, n_syllables])
        phrase = songs.make_phrase(rng, line, n_syllables, tonic, bpm, low, high, NOTE_BEATS)
        track += speech.sing_phrase(phrase, phones, vibrato)
        melody += [[round(offset + n.start, 4), round(offset + n.end, 4), n.pitch] for n in phrase.notes]
        offset += round(phrase.duration * 1000) / 1000
    return track + [speech.silence(EDGE_SILENCE_MS)], melody


def _read(voice, lines, rng):
    """Spoken phones of a whole song: espeak-ng's prosody per line, 250-700 ms pauses between lines."""
    track = [speech.silence(EDGE_SILENCE_MS)]
    for number, line in enumerate(lines):
        if number:
            track.append(speech.silence(int(rng.integers(250, 700))))
        track += speech.text_to_phones(line, voice)
    return track + [speech.silence(EDGE_SILENCE_MS)]


def _write(folder: Path, song_id: str, phones: list[speech.Phone], audio_16k: np.ndarray) -> np.ndarray:
    """``<nn>.wav`` (44.1 kHz, peak 0.7) and ``<nn>.txt`` phone labels; returns the 44.1 kHz audio."""
    audio = resample(audio_16k, speech.SAMPLE_RATE, SAMPLE_RATE)
    audio = audio * (0.7 / max(np.abs(audio).max(), 1e-6))
    save_audio(folder / f"{song_id}.wav", audio, SAMPLE_RATE, "PCM_16")
    labels = speech.phone_labels(phones)
    (folder / f"{song_id}.txt").write_text("".join(f"{s:.6f} {e:.6f} {p}\n" for s, e, p in labels))
    return audio


def build(out: Path, size: int, seed: int) -> dict:
    voices = list(speech.VOICES)
    speech.require_voices(voices)
    rng = np.random.default_rng(seed)
    n_songs = min(20, 2 * size)
    if size > n_songs:
        raise InputError(f"nus48e size must be <= 20 (songs in the pool), got {size}")
    base = out / "nus-smc-corpus_48"
    skips, items = Skips(), []
    progress = tqdm(total=len(voices) * size, desc="nus48e", unit="song", leave=False)
    for index, voice in enumerate(voices):
        vibrato = speech.Vibrato(float(rng.uniform(5.0, 6.5)), float(rng.uniform(20, 45)))
        for j in range(size):
            progress.update()
            song = (index * max(1, size // 2) + j) % n_songs + 1
            song_id = f"{song:02d}"
            lines, tonic, bpm = _song_text(seed, song)
            sung, melody = _sung(seed, song, voice, lines, tonic, bpm, vibrato)
            read = _read(voice, lines, rng)
            name = f"{singer_name(voice)}/{song_id}"
            sung_audio, read_audio = speech.synthesize(sung, voice), speech.synthesize(read, voice)
            if min(np.abs(sung_audio).max(), np.abs(read_audio).max()) < 1e-3:
                skips.add("silent rendering", name)
                continue
            folder = base / singer_name(voice)
            _write(folder / "read", song_id, read, read_audio)
            audio = _write(folder / "sing", song_id, sung, sung_audio)
            times = np.arange(int(len(audio) / SAMPLE_RATE / F0_HOP)) * F0_HOP
            f0 = speech.f0_contour(sung, times)
            (folder / "sing" / f"{song_id}.f0").write_text(
                "# time_s f0_hz\n" + "".join(f"{t:.2f} {v:.2f}\n" for t, v in zip(times, f0)))
            items.append({"singer": singer_name(voice), "song": song_id, "voice": f"mbrola-{voice}",
                          "lyrics": lines, "tonic_pc": tonic, "bpm": bpm, "melody": melody,
                          "vibrato": [round(vibrato.rate_hz, 3), round(vibrato.depth_cents, 3)]})
    progress.close()
    return {
        "stands_in_for": "NUS-48E sung and spoken lyrics corpus (Duan et al. 2013)", "sample_rate": SAMPLE_RATE,
        "channels": "mono", "phone_set": "ARPAbet (CMU, lower case) + sil",
        "how": "espeak-ng phones and prosody read by MBROLA voices; the same phones re-timed onto a "
               "generated melody with vibrato for singing; 16 kHz MBROLA output resampled (soxr) to 44.1 kHz",
        "voices": {singer_name(v): f"mbrola-{v}" for v in voices},
        "skipped": skips.report("nus48e"), "items": items,
    }
