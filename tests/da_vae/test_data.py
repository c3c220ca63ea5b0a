"""da_vae features and data: frame grids, piano roll / chroma oracles, the song-level split, the feature
cache (computed once, statistics of the training split, memory-mapped segments), MIDI re-timing, the report's
ordering checks, and clear errors for a wrong dataset layout."""

import numpy as np
import pretty_midi
import pytest
import torch

from common.audio import save_audio
from common.errors import InputError
from da_vae import catalog, data, evaluate, features, inference, training

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
    items = [catalog.Item(f"s{song}_{clip}", "x.wav", None, f"s{song}") for song in range(10) for clip in range(3)]
    split = catalog.split_groups(items, 0.2, seed=0)
    by_song = {}
    for item in split:
        by_song.setdefault(item.group, set()).add(item.split)
    assert all(len(s) == 1 for s in by_song.values())
    assert sum(s == {"val"} for s in by_song.values()) == 2
    assert split == catalog.split_groups(items, 0.2, seed=0)
    with pytest.raises(InputError, match="at least 2 pieces"):
        catalog.split_groups(items[:3], 0.2, seed=0)


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

    # the piano roll is fed as is (0/1): a pitch no training frame plays stays 1 after normalisation, not 1000
    roll_train = np.concatenate([prepared.clip(i)[0] for i in prepared.split("train")])
    unseen = np.flatnonzero(roll_train.sum(0) == 0)
    assert len(unseen) > 0
    played = torch.zeros(128)
    played[unseen] = 1.0
    assert float(((played - prepared.stats["source_mean"]) / prepared.stats["source_std"]).abs().max()) == 1.0
    np.testing.assert_allclose(prepared.stats["source_rate"], roll_train.mean(0), atol=1e-6)


def test_a_pitch_unseen_in_training_stays_bounded_after_normalisation():
    train_roll = np.zeros((50, 128))
    train_roll[:, 60] = 1.0  # only middle C ever sounds in training
    sums = np.stack([np.full(128, 50.0), train_roll.sum(0), np.square(train_roll).sum(0)])
    moments = data.band_moments("source", sums, as_is=True)
    test_frame = np.zeros(128, np.float32)
    test_frame[[60, 90]] = 1.0  # pitch 90 never sounded in training
    normalised = (test_frame - moments["source_mean"]) / moments["source_std"]
    np.testing.assert_array_equal(normalised, test_frame)
    zscored = data.band_moments("source", sums)  # what a per-band z-score (std floor 1e-3) does to it
    assert abs((1.0 - zscored["source_mean"][90]) / zscored["source_std"][90]) == pytest.approx(1000, rel=1e-3)


def test_training_and_heldout_pianos_are_disjoint_in_config_and_files(tiny):
    """Task 1 trains on data.instruments only; the held-out piano gives only validation pieces, and its
    soundfont is used by no training piano (the corpus manifest)."""
    from common.corpora import corpus_status

    cfg = tiny.config()
    assert cfg.data.heldout_instrument not in cfg.data.instruments
    items = catalog.task_items(cfg, "midi")
    by_split = {split: [i for i in items if i.split == split] for split in ("train", "val", "heldout")}
    assert {i.instrument for i in by_split["train"] + by_split["val"]} == set(cfg.data.instruments)
    assert {i.instrument for i in by_split["heldout"]} == {cfg.data.heldout_instrument}
    heldout_folder = f"/{cfg.data.heldout_instrument}/MUS/"
    assert not any(heldout_folder in i.audio for i in by_split["train"] + by_split["val"])
    assert all(heldout_folder in i.audio for i in by_split["heldout"])
    val_pieces = {i.group for i in by_split["val"]}
    assert {i.group for i in by_split["heldout"]} == val_pieces  # the held-out piano plays held-out pieces only
    assert not val_pieces & {i.group for i in by_split["train"]}
    prepared = data.PreparedTask(data.prepare(cfg, "midi"))
    assert {i["split"] for i in prepared.items} == {"train", "val"}  # nothing of the held-out piano is trained on
    pianos = corpus_status("maps", cfg.data.root)["pianos"]
    heldout_font = pianos[cfg.data.heldout_instrument]["soundfont"]
    assert heldout_font not in {pianos[name]["soundfont"] for name in cfg.data.instruments}
    assert len({(p["soundfont"], p["program"]) for p in pianos.values()}) >= 3
    with pytest.raises(InputError, match="data.heldout_instrument=AkPnBcht is also in data.instruments"):
        catalog.task_items(tiny.config("data.heldout_instrument=AkPnBcht"), "midi")


def test_retime_midi_moves_notes_along_the_path():
    midi = one_note_midi(start=1.0, end=1.5)
    half_speed = np.stack([np.repeat(np.arange(100), 2), np.arange(200)], axis=1)  # audio twice as slow
    note = inference.retime_midi(midi, half_speed, 0.02).instruments[0].notes[0]
    assert note.start == pytest.approx(2.0 + 0.01, abs=0.011) and note.end == pytest.approx(3.0 + 0.01, abs=0.011)
    assert midi.instruments[0].notes[0].start == 1.0  # the input is untouched


def test_wrong_layouts_and_mono_karaoke_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="no MAPS_MUS-.*_ENSTDkCl.wav files.*data.root"):
        catalog.maps_items(tmp_path, "ENSTDkCl")
    with pytest.raises(InputError, match="Wavfile: no <singer>_<song>_<clip>.wav"):
        catalog.mir1k_items(tmp_path)
    save_audio(tmp_path / "a_1_01.wav", np.zeros(SR, np.float32), SR)
    with pytest.raises(InputError, match="a_1_01.wav: has 1 channel"):
        catalog.load_karaoke(str(tmp_path / "a_1_01.wav"), SR)
    folder = tmp_path / "ENSTDkCl/MUS"
    folder.mkdir(parents=True)
    save_audio(folder / "MAPS_MUS-x_ENSTDkCl.wav", np.zeros(SR, np.float32), SR)
    with pytest.raises(InputError, match="MAPS_MUS-x_ENSTDkCl.mid: missing MIDI"):
        catalog.maps_items(tmp_path, "ENSTDkCl")


def test_orderings_report_what_the_numbers_say():
    def items(**e):  # five items; each method's e per item
        return {str(k): {"e": {name: values[k] for name, values in e.items()}} for k in range(5)}

    chroma, spec = [2.0, 2.1, 1.9, 2.2, 2.0], [9.0, 9.5, 8.0, 9.9, 9.1]
    # in-domain, Proposed (L = 12) is below Chroma on 2 of 5 paired items but above it on 3 and on the mean
    in_domain = items(**{"Proposed (L = 128)": [1.0, 1.1, 0.9, 1.2, 1.0], "Proposed (L = 12)": [1.5, 1.6, 9, 9, 9],
                         "Chroma": chroma, "Spec": spec})
    # held out, Proposed (L = 12) has the lower median than Chroma (1.9 vs 2.0) but is far worse on 2 of 5 items
    heldout = items(**{"Proposed (L = 128)": [3.0, 2.0, 4.0, 3.5, 2.5], "Proposed (L = 12)": [1.8, 1.9, 1.7, 9, 9],
                       "Chroma": chroma, "Spec": spec})
    domains = {name: {"items": its, "median_e": {m: float(np.median([i["e"][m] for i in its.values()]))
                                                 for m in next(iter(its.values()))["e"]}}
               for name, its in (("in-domain", in_domain), ("held-out piano", heldout))}
    results = {"midi": {"domains": domains}}
    checks = evaluate.orderings(results)
    holds = {claim: ok for claim, ok, _ in checks}
    assert holds == {"Table 2, in-domain: Proposed (L = 128) < Chroma": True,
                     "Table 2, in-domain: Proposed (L = 12) < Chroma": False,
                     "Table 2, in-domain: Chroma < Spec": True,
                     "Table 2, in-domain: Proposed (L = 128) < Proposed (L = 12)": True,
                     "Table 2, held-out piano: Proposed (L = 128) < Chroma": False,
                     "Table 2, held-out piano: Proposed (L = 12) < Chroma": False,
                     "Table 2, held-out piano: Chroma < Spec": True,
                     "Table 2, held-out piano: Proposed (L = 128) < Proposed (L = 12)": False}
    numbers = {claim: text for claim, _, text in checks}
    assert numbers["Table 2, in-domain: Proposed (L = 12) < Chroma"].endswith(
        "paired over 5 items; detectable: 6.80 frames; medians 9.00 vs 2.00")


def test_mcep_is_the_mel_cepstrum_of_the_world_envelope():
    """SPTK's inverse (mc2sp with the same all-pass constant) gives back WORLD's CheapTrick envelope: the columns
    are a real mel-cepstrum at alpha 0.41 (16 kHz), not WORLD's coded envelope."""
    import pysptk
    import pyworld

    t = np.arange(SR) / SR
    y = sum(np.sin(2 * np.pi * 220 * k * t) / k for k in range(1, 20)) * (0.3 + 0.2 * np.sin(2 * np.pi * 2 * t))
    x = y.astype(np.float64)
    f0, times = pyworld.dio(x, SR, frame_period=20.0)
    f0 = pyworld.stonemask(x, f0, times, SR)
    envelope = pyworld.cheaptrick(x, f0, times, SR)
    mc = features.mcep(y, SR, 20.0, order=24, energy=True)
    assert mc.shape == (features.frame_count(len(y), HOP), 25)
    np.testing.assert_array_equal(features.mcep(y, SR, 20.0), mc[:, 1:])
    voiced = np.flatnonzero(f0 > 0)[:-1]
    back = pysptk.mc2sp(mc[voiced].astype(np.float64), 0.41, 2 * (envelope.shape[1] - 1))
    error_db = np.abs(10 * np.log10(back) - 10 * np.log10(envelope[voiced]))
    assert np.median(error_db) < 2.0


def test_sp2mc_equals_sptk_frame_by_frame():
    import pysptk

    power = np.exp(np.random.default_rng(2).normal(size=(7, 513)))
    ours = features.sp2mc(power, 24, 0.41)
    np.testing.assert_allclose(ours, np.stack([pysptk.sp2mc(p, 24, 0.41) for p in power]), rtol=1e-9, atol=1e-9)


def test_data_root_may_be_the_corpus_itself_or_the_folder_holding_it(tmp_path):
    from omegaconf import OmegaConf

    (tmp_path / "MAPS/ENSTDkCl/MUS").mkdir(parents=True)
    (tmp_path / "MIR-1K/Wavfile").mkdir(parents=True)

    def root(where, corpus):
        cfg = OmegaConf.create({"data": {"synthetic": False, "root": str(where), "maps": None, "mir1k": None}})
        return catalog.corpus_root(cfg, corpus)

    for corpus, name in (("maps", "MAPS"), ("mir1k", "MIR-1K")):
        assert root(tmp_path, corpus) == tmp_path / name
        assert root(tmp_path / name, corpus) == tmp_path / name


def test_the_mean_voice_of_the_separation_cache_is_over_training_frames(tiny):
    """``voice_mean`` handed to the separation models = mean of log(1 + |voice|) over the training rows only."""
    prepared = data.PreparedTask(data.prepare(tiny.config(), "separation"))
    train = np.concatenate([prepared.clip(item)[0] for item in prepared.split("train")])
    expected = np.log1p(np.maximum(train, 0)).mean(0)
    np.testing.assert_allclose(training.module_args(tiny.config(), prepared)["stats"]["voice_mean"].numpy(),
                               expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("damage", ["deleted MIDI", "zero-byte WAV"])
def test_a_damaged_file_of_a_real_maps_stops_prepare_in_one_line_naming_it(tiny, tmp_path, capsys, damage):
    """On a real dataset (``data.synthetic=false``) nothing is rebuilt: a piece whose MIDI is gone or whose WAV is
    empty stops ``prepare`` with one line naming that file, instead of training on the pieces that are left."""
    import shutil

    maps = shutil.copytree(catalog.corpus_root(tiny.config(), "maps"), tmp_path / "MAPS")
    wav = sorted(maps.glob("AkPnBcht/MUS/*.wav"))[0]
    victim = wav.with_suffix(".mid") if damage == "deleted MIDI" else wav
    victim.unlink() if damage == "deleted MIDI" else victim.write_bytes(b"")
    assert tiny.run("prepare", "--tasks", "midi", "data.synthetic=false", f"data.maps={maps}",
                    f"data.cache={tmp_path}/cache") == 2
    err = capsys.readouterr().err.strip()
    line = err[err.index("error: "):]  # after any progress bar of the tiny corpus build
    assert line.startswith(f"error: {victim}: ") and "\n" not in line, err
