"""The held-out inputs: rendered at the asked pitches, by engines and voices no corpus uses."""

import numpy as np
import pytest

from common import heldout
from common.corpora.render import SOUNDFONTS
from common.pitch import agreement, track_pitch

SR = 16000


def test_random_melody_is_seeded_and_inside_its_range():
    a, b = heldout.random_melody(3, 55, 67), heldout.random_melody(3, 55, 67)
    assert a == b and a != heldout.random_melody(4, 55, 67)
    pitches = a.pitches()
    assert pitches.min() >= 55 and pitches.max() <= 67 and np.all(np.diff(pitches) != 0)
    assert all(n1[0] > n0[1] for n0, n1 in zip(a.notes, a.notes[1:], strict=False))


@pytest.mark.parametrize("render", ["soundfont", "additive"])
def test_rendered_melodies_carry_their_pitches(render):
    melody = heldout.random_melody(0, 55, 72, n_notes=5)
    audio = (heldout.render_soundfont(melody, 40, SR) if render == "soundfont" else heldout.additive(melody, SR))
    assert np.abs(audio).max() == pytest.approx(0.5, abs=1e-3)
    times, f0 = track_pitch(audio, SR)
    got = agreement((times, melody.f0(times)), (times, f0))
    assert got.accuracy > 0.9 and got.voiced_ratio > 0.8


def test_the_heldout_soundfont_is_none_of_the_corpora_soundfonts():
    used = {str(file) for file, _ in SOUNDFONTS.values()}
    assert str(heldout.HELDOUT_SOUNDFONT) not in used and heldout.HELDOUT_SOUNDFONT.suffix == ".sf3"


def test_speak_uses_formant_voices_and_refuses_mbrola():
    audio = heldout.speak(heldout.SENTENCES[0], heldout.MALE_VOICES[0], SR)
    assert 1.5 < len(audio) / SR < 6
    _, f0 = track_pitch(audio, SR, fmin=60, fmax=400)
    assert 70 < np.median(f0[f0 > 0]) < 180  # a male speaking voice
    with pytest.raises(ValueError, match="MBROLA"):
        heldout.speak("hello", "mb-us1", SR)


def test_one_fluidsynth_call_renders_each_melody_as_alone():
    """17 melodies on 16 programs (more than MIDI's 15 melodic channels: two calls): each clip as long as its
    own render, at its own pitches, with the same spectrum as the melody rendered alone (onsets may move by one
    FluidSynth block, 1.5 ms, so the waveforms are not compared)."""
    import librosa

    programs = [0, 6, 11, 19, 24, 32, 40, 41, 42, 56, 57, 60, 65, 68, 71, 73, 40]
    items = [(heldout.random_melody(seed, 55, 72, n_notes=3), program) for seed, program in enumerate(programs)]
    clips = heldout.render_soundfont_many(items, SR)
    for (melody, program), clip in zip(items, clips, strict=True):
        assert len(clip) == int((melody.seconds + heldout.TAIL_SECONDS) * SR)
        times, f0 = track_pitch(clip, SR)
        assert agreement((times, melody.f0(times)), (times, f0)).accuracy > 0.8, program
    for k in (0, 15, 16):  # the first and last of the 16 programs, and a program played twice
        alone = heldout.render_soundfont(*items[k], SR)
        spectra = [np.abs(librosa.stft(x, n_fft=1024)).ravel() for x in (clips[k], alone)]
        assert np.corrcoef(*spectra)[0, 1] > 0.99
