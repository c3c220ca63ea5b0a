"""Pre-processing on known inputs: silent runs removed, stretched length equals the contour's, one 1 per voiced
frame in the pitch image, the phase vocoder keeps a tone's pitch, the spectral pitch shift moves it, melody
files become contours, and paired spans come out of hand-made phone labels."""

import numpy as np
import pretty_midi
import pytest

from common.errors import InputError
from speech2sing import data
from speech2sing import features as fx

SR, HOP, NFFT = 16000, 256, 1024


def tone(seconds, hz=220.0, amp=0.5):
    return amp * np.sin(2 * np.pi * hz * np.arange(int(seconds * SR)) / SR)


def test_silent_runs_of_three_frames_or_more_are_removed_and_shorter_gaps_kept():
    gap_long, gap_short = np.zeros(3 * HOP), np.zeros(2 * HOP)  # 48 ms and 32 ms of silence
    audio = np.concatenate([tone(0.32), gap_long, tone(0.32), gap_short, tone(0.32)])
    out = fx.remove_silence(audio, HOP, 40.0, 3)
    assert len(out) == len(audio) - len(gap_long)
    assert np.array_equal(out[: int(0.32 * SR)], audio[: int(0.32 * SR)])
    # -30 dB is not silent at a 40 dB threshold, -50 dB is
    quiet = np.concatenate([tone(0.32), tone(0.16, amp=0.5 * 10 ** (-30 / 20)), tone(0.32)])
    assert len(fx.remove_silence(quiet, HOP)) == len(quiet)
    quieter = np.concatenate([tone(0.32), tone(0.16, amp=0.5 * 10 ** (-50 / 20)), tone(0.32)])
    assert len(fx.remove_silence(quieter, HOP)) == len(quieter) - int(0.16 * SR)


@pytest.mark.parametrize("n_target", [37, 120, 301])
def test_uniform_stretch_gives_exactly_the_contour_length_and_keeps_the_pitch(n_target):
    D = fx.complex_stft(tone(1.0, 440.0), NFFT, HOP)
    stretched = fx.phase_vocoder(D, fx.uniform_positions(D.shape[1], n_target), HOP)
    assert stretched.shape == (NFFT // 2 + 1, n_target)
    peak = np.abs(stretched[:, 3:-3]).argmax(0)
    assert np.all(peak == round(440 * NFFT / SR))
    # the resynthesised stretch is still a 440 Hz tone: its spectrum peaks at the same bin
    import torch

    from common.spectral import istft

    audio = istft(torch.as_tensor(stretched), NFFT, HOP).numpy()
    spectrum = np.abs(np.fft.rfft(audio[NFFT:-NFFT] * np.hanning(len(audio) - 2 * NFFT)))
    assert abs(spectrum.argmax() * SR / (len(audio) - 2 * NFFT) - 440) < 5


def test_anchored_positions_map_each_phone_onto_its_sung_duration():
    anchors = np.array([[0.0, 0.0], [0.5, 2.0], [1.0, 2.5]])  # phone 1: 0.5 s -> 2 s, phone 2: 0.5 s -> 0.5 s
    frame_s = HOP / SR
    positions = fx.anchored_positions(anchors, int(2.5 / frame_s) + 1, frame_s)
    assert positions[0] == 0
    assert np.allclose(np.diff(positions[: int(2.0 / frame_s)]), 0.25)
    assert np.allclose(np.diff(positions[int(2.0 / frame_s) + 1:]), 1.0)


def test_pitch_image_has_one_one_per_voiced_frame_at_the_nearest_bin():
    f0 = np.array([0.0, 220.0, 221.0, np.nan, 440.0, 0.0, 9000.0])
    C = fx.pitch_image(f0, NFFT // 2 + 1, SR)
    assert C.shape == (513, 7)
    assert C.sum(0).tolist() == [0, 1, 1, 0, 1, 0, 0]  # 9 kHz is above the top bin: unvoiced
    assert C[14, 1] == 1 and C[14, 2] == 1 and C[28, 4] == 1  # 220 Hz * 1024 / 16000 = 14.08


def stft_peak(hz: float) -> float:
    """The fractional bin of a tone's spectral peak (parabolic interpolation of the log magnitude)."""
    column = np.log(np.abs(fx.complex_stft(tone(0.5, hz), NFFT, HOP))[:, 10] + 1e-9)
    k = int(column.argmax())
    a, b, c = column[k - 1: k + 2]
    return k + 0.5 * (a - c) / (a - 2 * b + c)


@pytest.mark.parametrize("kind", fx.PITCH_IMAGES)
def test_the_pitch_image_sits_on_the_stft_peak_of_a_known_tone(kind):
    """F0 -> bin agrees with where the STFT puts the tone, to a tenth of a bin up to 7 kHz (a bin scale off by
    512/513 is 0.6 bin off at 5 kHz)."""
    for hz in (130.0, 437.0, 1234.5, 5000.0, 7007.0):
        peak = stft_peak(hz)
        assert fx.f0_positions(np.array([hz]), NFFT // 2 + 1, SR)[0] == pytest.approx(peak, abs=0.1)
        C = fx.pitch_image(np.array([hz]), NFFT // 2 + 1, SR, kind)[:, 0]
        first = C[: int(1.5 * peak)]  # the fundamental's entries (harmonics lie above)
        centre = (first * np.arange(len(first))).sum() / first.sum()
        assert centre == pytest.approx(peak, abs=0.5 if kind == "onehot" else 0.1), (hz, kind)
        if kind == "harmonics" and 2 * hz < SR / 2:
            second = C[int(1.5 * peak): int(2.5 * peak)]
            assert (second * np.arange(int(1.5 * peak), int(2.5 * peak))).sum() == pytest.approx(2 * peak, abs=0.2)


def test_spectral_pitch_shift_moves_a_partial_by_the_semitone_ratio():
    X = fx.log_magnitude(fx.complex_stft(tone(0.5, 400.0), NFFT, HOP))
    up = fx.pitch_shift_spectrogram(X, 12.0)  # an octave: bin 25.6 -> 51.2
    assert abs(int(np.median(up.argmax(0))) - 51) <= 1
    assert np.array_equal(fx.pitch_shift_spectrogram(X, 0.0), X)
    down = fx.pitch_shift_spectrogram(X, -1.0)
    assert abs(np.median(down.argmax(0)) - 25.6 / 2 ** (1 / 12)) <= 1


def test_melody_files_become_frame_contours(tmp_path):
    midi = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(0)
    piano.notes += [pretty_midi.Note(100, 69, 1.0, 1.5), pretty_midi.Note(100, 72, 2.0, 2.5)]
    midi.instruments.append(piano)
    midi.write(str(tmp_path / "m.mid"))
    f0 = fx.midi_contour(tmp_path / "m.mid", 0.01)
    assert len(f0) == 150  # first onset to last offset
    assert np.allclose(f0[:50], 440.0) and np.all(f0[50:100] == 0) and np.allclose(f0[100:], 523.2511, atol=1e-3)
    (tmp_path / "m.csv").write_text("time,hz\n0.0,200\n0.05,0\n0.1,300\n")
    f0 = fx.csv_contour(tmp_path / "m.csv", 0.01)
    assert len(f0) == 11 and f0[0] == 200 and f0[5] == 0 and f0[10] == 300
    (tmp_path / "bad.csv").write_text("0.0,200\n")
    with pytest.raises(InputError, match="bad.csv"):
        fx.csv_contour(tmp_path / "bad.csv", 0.01)


def test_phone_classes_are_the_41_of_the_paper():
    assert len(fx.PHONES) == 41 and fx.phone_class("AH0") == fx.PHONES.index("ah")
    assert fx.phone_class("sp") == fx.SILENCE and fx.phone_class("br") == 40
    with pytest.raises(InputError, match="xx"):
        fx.phone_class("xx")


def test_syllables_split_the_consonants_between_two_vowels():
    # m ay | d ow | g ih ; s t r | ay k: the larger half of a cluster is the next syllable's onset
    assert data.syllable_starts(["m", "ay", "d", "ow", "g", "ih"]) == [0, 2, 4]
    assert data.syllable_starts(["ay", "s", "t", "r", "ay", "k"]) == [0, 2]
    assert data.syllable_starts(["s", "t"]) == []


def test_spans_are_every_run_of_three_or_more_words_inside_one_sung_chunk():
    read = [(0.0, 0.5, "sil"), (0.5, 0.6, "m"), (0.6, 0.7, "ay"), (0.7, 0.8, "d"), (0.8, 0.9, "ow"),
            (0.9, 1.0, "g"), (1.0, 1.1, "ih"), (1.1, 1.2, "t"), (1.2, 1.3, "uw"), (1.3, 1.5, "sil"),
            (1.5, 1.6, "hh"), (1.6, 1.7, "ay"), (1.7, 2.0, "sil")]
    sing = [(0.0, 1.0, "sil"), (1.0, 1.2, "m"), (1.2, 2.0, "ay"), (2.0, 2.2, "d"), (2.2, 3.0, "ow"),
            (3.0, 3.1, "g"), (3.1, 4.0, "ih"), (4.0, 4.1, "t"), (4.1, 4.5, "uw"), (4.5, 5.0, "sil"),
            (5.0, 5.1, "hh"), (5.1, 6.0, "ay"), (6.0, 7.0, "sil")]
    spans = data.sample_spans(read, sing, min_words=3)
    # chunk 1 has 4 syllables (m ay | d ow | g ih | t uw): runs 1-3, 1-4, 2-4; chunk 2 has 1 (too few)
    assert [(s.read, s.sing, s.syllables) for s in spans] == [
        ((0.5, 1.1), (1.0, 4.0), 3), ((0.5, 1.3), (1.0, 4.5), 4), ((0.7, 1.3), (2.0, 4.5), 3)]
    assert spans[0].anchors[:2] == ((0.5, 1.0), (0.6, 1.2))
    assert [s.syllables for s in data.sample_spans(read, sing, min_words=3, max_words=3)] == [3, 3]
    assert len(data.sample_spans(read, sing, min_words=1)) == 10 + 1  # 4 * 5 / 2 runs, and "hh ay"
