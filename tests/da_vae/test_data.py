"""da_vae features and data: frame grids, piano roll / chroma oracles, the song-level split, the feature
cache (computed once, statistics of the training split, memory-mapped segments), MIDI re-timing, the report's
ordering checks, and clear errors for a wrong dataset layout."""

import numpy as np
import pretty_midi
import pytest
import torch

from common.audio import save_audio
from common.errors import InputError
from da_vae import data, evaluate, features, inference

SR, HOP = 16000, 320


def one_note_midi(pitch=60, start=0.5, end=1.0, drums=False) -> pretty_midi.PrettyMIDI:
    midi = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(0)
    piano.notes.append(pretty_midi.Note(90, pitch, start, end))
    midi.instruments.append(piano)
    if drums:
        kit = pretty_midi.Instrument(0, is_drum=True)
        kit.notes.append(pretty_midi.Note(100, 36, 0.0, 2.0))
        midi.instruments.append(kit)
    return midi


def test_piano_roll_and_midi_chroma_mark_exactly_the_sounding_frames():
    midi = one_note_midi(pitch=62, start=0.5, end=1.0, drums=True)  # drums have no pitch: ignored
    roll = features.piano_roll(midi, 100, 0.02)
    assert roll.shape == (100, 128)
    active = np.flatnonzero(roll[:, 62])
    assert active[0] == 25 and active[-1] == 50  # frames whose +-10 ms span touches [0.5, 1.0] s
    assert roll.sum() == len(active)
    chroma = features.midi_chroma(midi, 100, 0.02)
    assert chroma.shape == (100, 12)
    np.testing.assert_array_equal(chroma[:, 2], roll[:, 62])  # D, normalised to 1 per frame
    assert chroma.sum() == chroma[:, 2].sum()


def test_all_features_share_the_centred_frame_grid():
    y = np.random.default_rng(0).standard_normal(SR * 2 + 123).astype(np.float32)
    n = features.frame_count(len(y), HOP)
    assert n == 1 + len(y) // HOP
    assert features.log_mel(y, SR, 1024, HOP, 128).shape == (n, 128)
    assert features.magnitude(y, 1024, HOP).shape == (n, 513)
    assert features.audio_chroma(y, SR, 1024, HOP).shape == (n, 12)
    assert features.mcep(y, SR, 20.0).shape == (n, 24)


def test_log_mel_is_log1p_of_librosa_mel_power():
    import librosa

    y = np.random.default_rng(1).standard_normal(SR).astype(np.float32)
    ours = features.log_mel(y, SR, 1024, HOP, 128)
    reference = np.log1p(librosa.feature.melspectrogram(y=y, sr=SR, n_fft=1024, hop_length=HOP, n_mels=128)).T
    np.testing.assert_allclose(ours, reference, rtol=1e-4, atol=1e-4)


def test_split_keeps_songs_together_and_holds_out_a_fifth():
    items = [data.Item(f"s{song}_{clip}", "x.wav", None, f"s{song}") for song in range(10) for clip in range(3)]
    split = data.split_groups(items, 0.2, seed=0)
    by_song = {}
    for item in split:
        by_song.setdefault(item.group, set()).add(item.split)
    assert all(len(s) == 1 for s in by_song.values())
    assert sum(s == {"val"} for s in by_song.values()) == 2
    assert split == data.split_groups(items, 0.2, seed=0)
    with pytest.raises(InputError, match="at least 2 pieces"):
        data.split_groups(items[:3], 0.2, seed=0)


def test_prepare_caches_once_with_train_statistics_and_serves_normalised_segments(tiny):
    cfg = tiny.config()
    directory = data.prepare(cfg, "midi")
    stamp = (directory / "source.f32").stat().st_mtime_ns
    assert data.prepare(cfg, "midi") == directory and (directory / "source.f32").stat().st_mtime_ns == stamp
    prepared = data.PreparedTask(directory)
    assert prepared.bands == [128, 128]
    train = np.concatenate([prepared.clip(item)[1] for item in prepared.split("train")])
    np.testing.assert_allclose(prepared.stats["target_mean"], train.mean(0), rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(prepared.stats["target_std"], train.std(0), rtol=1e-2, atol=2e-3)
    segments = data.SegmentPairs(prepared, "train", 21, 10)
    first = prepared.split("train")[0]
    assert len(segments) == sum((i["frames"] - 21) // 10 + 1 for i in prepared.split("train"))
    source, target, raw = segments[0]
    assert source.shape == (21, 128) and target.shape == (21, 128)
    roll, mel = prepared.clip(first)
    torch.testing.assert_close(raw, torch.from_numpy(roll[:21]))
    torch.testing.assert_close(target * prepared.stats["target_std"] + prepared.stats["target_mean"],
                               torch.from_numpy(mel[:21]), rtol=1e-5, atol=1e-5)


def test_retime_midi_moves_notes_along_the_path():
    midi = one_note_midi(start=1.0, end=1.5)
    half_speed = np.stack([np.repeat(np.arange(100), 2), np.arange(200)], axis=1)  # audio twice as slow
    note = inference.retime_midi(midi, half_speed, 0.02).instruments[0].notes[0]
    assert note.start == pytest.approx(2.0 + 0.01, abs=0.011) and note.end == pytest.approx(3.0 + 0.01, abs=0.011)
    assert midi.instruments[0].notes[0].start == 1.0  # the input is untouched


def test_wrong_layouts_and_mono_karaoke_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="no MAPS_MUS-.*data.root"):
        data.maps_items(tmp_path)
    with pytest.raises(InputError, match="Wavfile: no <singer>_<song>_<clip>.wav"):
        data.mir1k_items(tmp_path)
    save_audio(tmp_path / "a_1_01.wav", np.zeros(SR, np.float32), SR)
    with pytest.raises(InputError, match="a_1_01.wav: has 1 channel"):
        data.load_karaoke(str(tmp_path / "a_1_01.wav"), SR)
    folder = tmp_path / "ENSTDkCl/MUS"
    folder.mkdir(parents=True)
    save_audio(folder / "MAPS_MUS-x_ENSTDkCl.wav", np.zeros(SR, np.float32), SR)
    with pytest.raises(InputError, match="MAPS_MUS-x_ENSTDkCl.mid: missing MIDI"):
        data.maps_items(tmp_path)


def test_orderings_report_what_the_numbers_say():
    results = {"midi": {"median_e": {"Proposed (L = 128)": 1.0, "Proposed (L = 12)": 3.0, "Chroma": 2.0, "Spec": 9.0}}}
    holds = {claim: ok for claim, ok, _ in evaluate.orderings(results)}
    assert holds == {"Table 2: Proposed (L = 128) < Chroma < Spec": True,
                     "Table 2: Proposed (L = 12) < Chroma < Spec": False,
                     "Table 2: Proposed L = 128 < L = 12": True}
