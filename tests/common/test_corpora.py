"""common.corpora: each synthetic corpus built at tiny size in a temp dir has the real dataset's layout,
names, sample rate and channels; its annotations agree with its audio; instruments and domains are
spectrally distinct; builds are deterministic; incomplete builds and bad inputs are handled."""

import csv
import json
import re

import librosa
import numpy as np
import pretty_midi
import pyworld
import soundfile as sf

import common.corpora as corpora
from common.corpora import maps, speech

ARPABET_39 = set(
    "aa ae ah ao aw ay b ch d dh eh er ey f g hh ih iy jh k l m n ng ow oy p r s sh t th uh uw v w y z zh".split()
)


def wav_format(path):
    info = sf.info(str(path))
    return info.samplerate, info.channels, info.subtype


def f0_dio(audio, sr):
    f0, times = pyworld.dio(audio.astype(np.float64), sr, f0_floor=70, f0_ceil=1000, frame_period=10)
    return times, pyworld.stonemask(audio.astype(np.float64), f0, times, sr)


def within_50_cents(estimate_hz, reference_hz):
    return 1200 * np.abs(np.log2(np.maximum(estimate_hz, 1e-3) / reference_hz)) < 50


def pitch_agreement(estimate_hz, reference_hz):
    """(voicing recall, share within 50 cents) on frames the reference calls voiced (> 0); the share is
    over frames the estimator also finds voiced."""
    voiced = reference_hz > 0
    both = voiced & (estimate_hz > 0)
    return both.sum() / voiced.sum(), within_50_cents(estimate_hz[both], reference_hz[both]).mean()


def spectral_flux(audio, hop, n_fft=2048):
    frames = np.lib.stride_tricks.sliding_window_view(np.pad(audio, n_fft // 2), n_fft)[::hop]
    magnitude = np.log1p(100 * np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=1)))
    return np.concatenate([[0.0], np.maximum(np.diff(magnitude, axis=0), 0).sum(1)])


def timbre(path):
    """Level-free spectral envelope (40 log-mel bands, sustained part) + temporal envelope (dB)."""
    audio, sr = sf.read(str(path))
    audio = audio.mean(1) if audio.ndim > 1 else audio
    frames = np.lib.stride_tricks.sliding_window_view(audio, 2048)[::1024] * np.hanning(2048)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    mel = np.log(librosa.filters.mel(sr=sr, n_fft=2048, n_mels=40) @ power.T + 1e-10)
    envelope = mel[:, 2:20].mean(1)
    loudness = 10 * np.log10(power.sum(1) + 1e-12)
    return np.concatenate([envelope - envelope.max(), np.maximum(loudness - loudness.max(), -80)[:40]])


# ---------------------------------------------------------------- MAPS
def test_maps_layout_and_note_onsets_match_energy_onsets(built):
    pieces = {}
    for instrument in maps.PIANOS:
        folder = built("maps") / instrument / "MUS"
        stems = {p.stem for p in folder.iterdir()}
        assert len(stems) == corpora.resolve_size("maps", "tiny")
        pieces[instrument] = {stem.removesuffix(f"_{instrument}") for stem in stems}
    assert len({frozenset(p) for p in pieces.values()}) == 1, "every piano plays the same pieces"
    manifest = corpora.corpus_status("maps", built("maps").parents[1])
    assert {(i["instrument"], i["soundfont"], i["program"]) for i in manifest["items"]} == {
        (name, piano.soundfont, piano.program) for name, piano in maps.PIANOS.items()}
    assert all({"rt60", "wet", "tilt_db", "peak_hz", "peak_db", "level_db"} <= i["room"].keys()
               for i in manifest["items"])
    folder = built("maps") / "ENSTDkCl" / "MUS"
    for stem in {p.stem for p in folder.iterdir()}:
        assert re.fullmatch(r"MAPS_MUS-[\w-]+_ENSTDkCl", stem)
        assert {p.suffix for p in folder.glob(stem + ".*")} == {".wav", ".mid", ".txt"}
        assert wav_format(folder / f"{stem}.wav") == (44100, 2, "PCM_16")
        lines = (folder / f"{stem}.txt").read_text().splitlines()
        assert lines[0] == "OnsetTime\tOffsetTime\tMidiPitch"
        notes = np.array([[float(v) for v in line.split("\t")] for line in lines[1:]])
        midi = pretty_midi.PrettyMIDI(str(folder / f"{stem}.mid"))
        from_midi = sorted(((n.start, n.end, n.pitch) for n in midi.instruments[0].notes),
                           key=lambda note: (round(note[0], 6), note[2]))
        np.testing.assert_allclose(notes, np.array(from_midi), atol=1e-6)

        audio, sr = sf.read(str(folder / f"{stem}.wav"))
        hop = sr // 100
        flux = spectral_flux(audio.mean(1), hop)
        onsets = np.unique(notes[:, 0])
        onsets = onsets[np.concatenate([[True], np.diff(onsets) > 0.03])]
        frame = np.round(onsets * sr / hop).astype(int)
        strong = np.percentile(flux, 80)
        hit = [flux[max(f - 5, 0): f + 6].max() > strong for f in frame]
        assert np.mean(hit) >= 0.95, "annotated onsets without an energy onset within 50 ms"
        lags = np.arange(-20, 21)  # frames of 10 ms
        alignment = [flux[np.clip(frame + lag, 0, len(flux) - 1)].mean() for lag in lags]
        assert abs(lags[int(np.argmax(alignment))]) <= 3, "note list and audio are offset in time"


# ---------------------------------------------------------------- MIR-1K
def test_mir1k_layout_and_right_channel_sings_the_pitch_labels(built):
    root = built("mir1k")
    wavs = sorted((root / "Wavfile").glob("*.wav"))
    assert len(wavs) == 4 * corpora.resolve_size("mir1k", "tiny")
    singers = set()
    for wav in wavs:
        singer, song, clip = re.fullmatch(r"([a-z0-9]+)_(\d+)_(\d\d)", wav.stem).groups()
        singers.add(singer)
        assert wav_format(wav) == (16000, 2, "PCM_16")
        assert (root / "Lyrics" / f"{wav.stem}.txt").read_text().strip()
        labels = np.loadtxt(root / "PitchLabel" / f"{wav.stem}.pv")
        audio, sr = sf.read(str(wav))
        assert len(labels) == (len(audio) - 640) // 320 + 1
        assert (labels > 0).mean() > 0.5
        centres = 0.02 * (np.arange(len(labels)) + 1)
        reference = np.where(labels > 0, 440 * 2 ** ((labels - 69) / 12), 0)
        right_t, right_f0 = f0_dio(audio[:, 1], sr)
        recall, accuracy = pitch_agreement(np.interp(centres, right_t, right_f0), reference)
        assert recall >= 0.75 and accuracy >= 0.9, f"{wav.name}: voice F0 {recall:.0%} voiced, {accuracy:.0%} right"
        left_t, left_f0 = f0_dio(audio[:, 0], sr)
        assert pitch_agreement(np.interp(centres, left_t, left_f0), reference)[1] < 0.5, "channels swapped"
    assert len(singers) >= 2


# ---------------------------------------------------------------- NUS-48E
def read_labels(path):
    rows = [line.split() for line in path.read_text().splitlines()]
    return [(float(s), float(e), p) for s, e, p in rows]


def test_nus48e_layout_labels_span_the_audio_and_read_and_sung_share_phones(built):
    root = built("nus48e")
    singers = sorted(p.name for p in root.iterdir())
    assert len(singers) >= 4 and all(re.fullmatch(r"[A-Z0-9]{4}", s) for s in singers)
    for singer in singers:
        sung_ids = {p.stem for p in (root / singer / "sing").glob("*.wav")}
        assert sung_ids == {p.stem for p in (root / singer / "read").glob("*.wav")}
        assert all(re.fullmatch(r"\d\d", i) for i in sung_ids)
        for song in sung_ids:
            phones = {}
            for mode in ("read", "sing"):
                wav = root / singer / mode / f"{song}.wav"
                assert wav_format(wav) == (44100, 1, "PCM_16")
                audio, sr = sf.read(str(wav))
                labels = read_labels(wav.with_suffix(".txt"))
                assert labels[0][0] == 0 and all(a[1] == b[0] for a, b in zip(labels, labels[1:]))
                assert abs(labels[-1][1] - len(audio) / sr) <= 1 / sr
                assert {p for *_, p in labels} <= ARPABET_39 | {"sil"}
                phones[mode] = [p for *_, p in labels if p != "sil"]
                rms = {p: [] for p in ("sil", "vowel")}
                for start, end, phone in labels[1:-1]:
                    kind = "sil" if phone == "sil" else "vowel" if phone in speech.VOWELS else None
                    if kind == "sil":  # after the first 100 ms: MBROLA's diphone decays into the silence
                        start += 0.1
                    if kind and end - start > 0.05:
                        rms[kind].append(np.sqrt(np.mean(audio[int(start * sr): int(end * sr)] ** 2)))
                assert np.median(rms["vowel"]) > 10 * max(rms["sil"] or [1e-6])
            assert phones["read"] == phones["sing"], "the same lyrics are read and sung"
            audio, sr = sf.read(str(root / singer / "sing" / f"{song}.wav"))
            contour = np.loadtxt(root / singer / "sing" / f"{song}.f0")
            times, f0 = f0_dio(audio, sr)
            recall, accuracy = pitch_agreement(np.interp(contour[:, 0], times, f0), contour[:, 1])
            assert recall >= 0.75 and accuracy >= 0.9, f"{singer}/{song}: {recall:.0%} voiced, {accuracy:.0%} right"


# ---------------------------------------------------------------- SOL and NSynth
def test_sol_names_metadata_pitch_dynamics_and_distinct_instruments(built):
    root = built("sol")
    files = sorted(root.rglob("*.wav"))
    pattern = r"(Brass|Keyboards|Strings|Winds)/(\w+)/ordinario/([A-Za-z]+)-ord-([A-G]#?\d)-(pp|mf|ff)-(\dc|N)-N\.wav"
    parsed = [re.fullmatch(pattern, str(f.relative_to(root))).groups() for f in files]
    assert len({p[1] for p in parsed}) == 12
    with open(root.parent / "TinySOL_metadata.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["Path"] for r in rows) == [str(f.relative_to(root)) for f in files]
    for row in rows:  # the labels are recoverable from the names alone
        family, _, abbr, pitch, dynamics, _ = re.fullmatch(pattern, row["Path"]).groups()
        assert (family, abbr, pitch, dynamics) == (row["Family"], row["Instrument (abbr.)"], row["Pitch"],
                                                   row["Dynamics"])
        assert pretty_midi.note_name_to_number(pitch) == int(row["Pitch ID"])
    assert {wav_format(f) for f in files} == {(44100, 1, "PCM_16")}

    shared = [f for f, p in zip(files, parsed) if p[3] == "F#4"]
    labels = np.array([f.parent.parent.name for f in shared])
    assert len(set(labels)) == 12, "every instrument plays the shared pitch F#4"
    for f in shared:
        dynamics = f.name.split("-")[3]
        loudness = [np.sqrt(np.mean(sf.read(str(f.with_name(f.name.replace(f"-{dynamics}-", f"-{d}-"))))[0] ** 2))
                    for d in ("pp", "mf", "ff")]
        assert loudness[0] < loudness[1] < loudness[2], f"dynamics are audible for {f.name}"
        audio, sr = sf.read(str(f))
        _, f0 = f0_dio(audio[int(0.1 * sr): int(0.9 * sr)], sr)
        assert np.mean(within_50_cents(f0[f0 > 0], pretty_midi.note_number_to_hz(66))) > 0.9, f.name
    features = np.array([timbre(f) for f in shared])
    distance = np.linalg.norm(features[:, None] - features[None], axis=2)
    for instrument in set(labels):
        same = labels == instrument
        within = distance[np.ix_(same, same)].max()
        assert within < distance[np.ix_(same, ~same)].min(), f"{instrument} is not spectrally distinct"


def test_nsynth_layout_metadata_and_instrument_splits(built):
    root = built("nsynth")
    by_split = {}
    for split in ("train", "valid", "test"):
        examples = json.loads((root / f"nsynth-{split}" / "examples.json").read_text())
        stems = {p.stem for p in (root / f"nsynth-{split}" / "audio").glob("*.wav")}
        assert set(examples) == stems
        for note_str, meta in examples.items():
            family, source = meta["instrument_family_str"], meta["instrument_source_str"]
            assert re.fullmatch(rf"{family}_{source}_\d{{3}}", meta["instrument_str"])
            assert note_str == f"{meta['instrument_str']}-{meta['pitch']:03d}-{meta['velocity']:03d}"
            assert meta["sample_rate"] == 16000 and len(meta["qualities"]) == 10
        path = root / f"nsynth-{split}" / "audio" / f"{note_str}.wav"
        assert wav_format(path) == (16000, 1, "PCM_16") and sf.info(str(path)).frames == 64000
        audio, _ = sf.read(str(path))
        assert np.abs(audio[52000:]).max() < np.abs(audio[8000:40000]).max(), "note released after 3 s"
        by_split[split] = {m["instrument_str"] for m in examples.values()}
    assert not (by_split["train"] & by_split["valid"]) and not (by_split["train"] & by_split["test"])


# ---------------------------------------------------------------- domains and scales
def test_domains_layout_split_by_work_and_domains_distinct(built):
    root = built("domains")
    training = ["piano", "harpsichord", "organ", "string_quartet", "choir", "brass"]
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == sorted(training + ["whistle", "flute"])
    files = sorted(root.rglob("*.wav"))
    assert len({f.name for f in files}) == len(files), "every work is used once"
    for domain in training:
        assert all(any((root / domain / s).glob("*.wav")) for s in ("train", "val", "test"))
    for unseen in ("whistle", "flute"):
        assert [p.name for p in (root / unseen).iterdir()] == ["test"]
    assert {wav_format(f) for f in files} == {(16000, 1, "PCM_16")}
    train = [f for f in files if f.parts[-3] in training]
    labels = np.array([f.parts[-3] for f in train])
    features = np.array([timbre(f) for f in train])
    correct = 0
    for i in range(len(train)):
        others = np.arange(len(train)) != i
        centroids = {d: features[others & (labels == d)].mean(0) for d in training}
        correct += min(centroids, key=lambda d: np.linalg.norm(features[i] - centroids[d])) == labels[i]
    assert correct / len(train) >= 0.8, "domains are told apart by their average spectrum"


def test_scales_clip_level_splits_and_scales(built):
    root = built("scales")
    splits = {}
    for corpus in ("one_octave", "five_octave"):
        splits[corpus] = {split: sorted(p.name for p in (root / corpus / split).glob("*.wav"))
                          for split in ("train", "val", "test")}
        assert all(splits[corpus].values())
        assert {wav_format(f) for f in (root / corpus).rglob("*.wav")} == {(44100, 1, "PCM_16")}
    assert splits["one_octave"] == splits["five_octave"], "a patch is in the same split in both corpora"
    names = [n for names in splits["one_octave"].values() for n in names]
    assert len(set(names)) == len(names)
    assert {p.name for p in (root / "violin").iterdir()} == {"train", "val", "test"}
    scale = list(range(60, 73))  # the first 13 notes: C4 chromatically up to C5
    candidates = np.arange(36, 97)
    hits = []
    for path in (root / "one_octave").rglob("*.wav"):
        audio, sr = sf.read(str(path))
        step = int(0.25 * sr)
        for k, pitch in enumerate(scale):
            segment = audio[k * step + step // 4: (k + 1) * step - step // 4]
            spectrum = np.abs(np.fft.rfft(segment * np.hanning(len(segment)), 8 * len(segment)))
            freqs = np.fft.rfftfreq(8 * len(segment), 1 / sr)
            salience = [sum(np.interp(h * pretty_midi.note_number_to_hz(c), freqs, spectrum) / h for h in range(1, 6))
                        for c in candidates]  # harmonic summation
            hits.append(candidates[int(np.argmax(salience))] % 12 == pitch % 12)
    assert np.mean(hits) >= 0.75, "the one-octave clips are chromatic scales at 0.25 s per note"


# ---------------------------------------------------------------- determinism, completeness, faults
