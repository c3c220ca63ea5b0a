"""Frame features and the corpus builder."""

import os

import numpy as np
import pytest
import torch

from common.audio import save_audio
from common.errors import InputError
from realtime_ae import data, features

SR, N_FFT, HOP = 44100, 4096, 1024


def tone(freq: float, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_frames_are_peak_normalised_and_silent_frames_dropped():
    # 0.5 s of A4 at two loudnesses, then 0.5 s of digital silence
    audio = np.concatenate([tone(440, 0.5, 0.8), tone(440, 0.5, 0.01), np.zeros(SR // 2, np.float32)])
    f = features.audio_frames(audio, SR, N_FFT, HOP, silence_db=-70.0)
    n_frames = 1 + len(audio) // HOP
    silent_frames = (SR // 2 - N_FFT // 2) // HOP  # frames whose window sees only the silent tail
    assert len(f["kept"]) == n_frames
    assert (~f["kept"]).sum() >= silent_frames and (~f["kept"][: (SR - N_FFT) // HOP]).sum() == 0
    assert torch.allclose(f["frames"].amax(-1), torch.ones(len(f["frames"])))
    assert f["frames"].min() >= 0
    # the quiet and the loud tone give the same normalised frame: loudness is removed, timbre kept
    loud, quiet = f["frames"][5], f["frames"][int(0.75 * SR) // HOP]
    assert torch.allclose(loud, quiet, atol=1e-3)
    assert f["peaks"][5] / f["peaks"][int(0.75 * SR) // HOP] == pytest.approx(80, rel=0.01)
    step = np.abs(np.arange(len(f["chroma"])) * HOP - SR // 2) < N_FFT // 2  # windows across the level step
    assert (f["chroma"][: int(0.9 * SR) // HOP][~step[: int(0.9 * SR) // HOP]] == 9).all()  # A


@pytest.mark.parametrize(("midi", "pitch_class"), [(36, 0), (38, 2), (48, 0), (61, 1), (64, 4), (79, 7), (94, 10)])
def test_chroma_is_the_most_salient_pitch_of_a_harmonic_tone(midi, pitch_class):
    # a harmonic tone whose third harmonic is the strongest partial: its fifth must not win; low notes (C2, D2:
    # semitones narrower than an STFT bin) must not either
    f0 = 440 * 2 ** ((midi - 69) / 12)
    audio = sum(tone(f0 * k, 0.5, 0.5 * (1.5 if k == 3 else 1 / k)) for k in range(1, 7) if f0 * k < SR / 2)
    f = features.audio_frames(audio, SR, N_FFT, HOP, -70.0)
    assert (f["chroma"][2:-2] == pitch_class).all()
    assert (features.salient_pitch(f["frames"][2:-2], SR) % 12 == pitch_class).all()
    assert features.salience_matrix(SR, N_FFT).shape == (88, 2049)


def test_corpus_splits_at_clip_level_and_counts_silent_frames(tmp_path, tiny):
    cfg = tiny.config()
    corpus = data.PreparedCorpus(data.prepare(cfg))
    names = {s: {c["name"] for c in corpus.split_clips(s)} for s in data.SPLITS}
    assert all(names[s] for s in data.SPLITS)
    assert not (names["train"] & names["val"]) and not (names["train"] & names["test"])
    assert corpus.index["silent_dropped"] == sum(c["silent_dropped"] for c in corpus.clips) > 0
    frames, chroma = corpus.tensors(corpus.split_rows("train"))
    assert frames.shape[1] == 2049 and torch.allclose(frames.amax(-1), torch.ones(len(frames)))
    assert set(chroma.argmax(-1).tolist()) == set(range(12))  # chromatic scales: every pitch class
    assert data.prepare(cfg) == corpus.directory  # cached
    rows = np.array([5, 6, 7, 2, 3, 9, 9, 0, 11])  # runs, a repeat, out of order: what indexing row by row gives
    frames, chroma = corpus.tensors(rows)
    assert torch.equal(frames, torch.from_numpy(np.array(corpus.frames[rows])))
    assert torch.equal(chroma.argmax(-1), torch.from_numpy(np.array(corpus.chroma[rows]).astype(np.int64)))


def test_a_split_is_read_once_per_process_and_anew_when_its_cache_is_rebuilt(tiny):
    corpus = data.PreparedCorpus(data.prepare(tiny.config()))
    first = data.FrameSet(corpus, "train")
    assert data.FrameSet(corpus, "train").frames is first.frames  # the eval's workers read each split once
    assert torch.equal(first.frames, corpus.tensors(corpus.split_rows("train"))[0])
    index = corpus.directory / "index.json"
    stat = index.stat()
    try:  # a rebuilt cache writes a new index.json
        os.utime(index, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
        rebuilt = data.FrameSet(corpus, "train")
    finally:
        os.utime(index, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert rebuilt.frames is not first.frames and torch.equal(rebuilt.frames, first.frames)


def test_plain_folder_is_split_by_file_and_bad_folders_fail(tmp_path, tiny):
    folder = tmp_path / "mine"
    for k in range(5):
        save_audio(folder / f"clip{k}.wav", tone(220 * (k + 1), 0.5), SR)
    cfg = tiny.config("data.synthetic=false", f"data.root={tmp_path}", "data.corpus=mine")
    splits = [s for _, s in data.clip_splits(folder, cfg.data)]
    assert sorted(splits) == ["test", "train", "train", "train", "val"]
    with pytest.raises(InputError, match="no such corpus folder"):
        data.prepare(tiny.config("data.synthetic=false", f"data.root={tmp_path}", "data.corpus=absent"))
    save_audio(tmp_path / "silent" / "a.wav", np.zeros(SR, np.float32), SR)
    for k in range(2):
        save_audio(tmp_path / "silent" / f"b{k}.wav", tone(300, 0.3), SR)
    with pytest.raises(InputError, match="a.wav: every frame is silent"):
        data.prepare(tiny.config("data.synthetic=false", f"data.root={tmp_path}", "data.corpus=silent"))
