"""Paired speech/singing samples of NUS-48E recordings (``speech2sing.catalog``) and the Lightning data module.

A sample is a run of ``min_words`` or more consecutive words inside one sung chunk (the phones between two
silences; the paper's "combinations of consecutive words"), words counted as syllables (one per vowel: the
labels do not mark word boundaries), paired with the speech between the
read phones matched to its first and last sung phone. Its features: X, the speech with silent runs removed
and phase-vocoder stretched to the sung length (``uniform``) or each matched phone stretched to its sung
duration (``phsync``), as log(1 + |S|); Y, the singing's log(1 + |S|); the sung F0 per frame (the ``.f0``
file, else pYIN on the singing, as the paper's melody extractor is not available); the sung phone per frame.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytorch_lightning as pl
import torch
from omegaconf import DictConfig
from torch.utils.data import DataLoader, Dataset

from common.audio import load_audio
from common.corpora.manifest import build_lock
from common.errors import InputError
from common.lightning.data import resumable_loader
from speech2sing import features as fx
from speech2sing.catalog import Labels, Recording, corpus_root, read_labels, recordings

log = logging.getLogger(__name__)

def is_silence(label: str) -> bool:
    return fx.phone_class(label) in (fx.SILENCE, fx.PHONES.index("br"))


@dataclass(frozen=True)
class Span:
    """A paired sample: speech ``read`` and singing ``sing`` intervals (s) and phone anchors (read s, sung s)."""

    read: tuple[float, float]
    sing: tuple[float, float]
    anchors: tuple[tuple[float, float], ...]
    syllables: int


def syllable_starts(phones: list[str]) -> list[int]:
    """Index of the first phone of each syllable of a run of phones: one syllable per vowel (nucleus); the
    consonants between two vowels are split, the larger half (the onset) going to the second."""
    vowels = [k for k, p in enumerate(phones) if p in fx.VOWELS]
    return [0] + [a + 1 + (b - a - 1) // 2 for a, b in zip(vowels, vowels[1:])] if vowels else []


def sample_spans(read: Labels, sing: Labels, min_words: int, max_words: int = 0) -> list[Span]:
    """Every run of ``min_words``..``max_words`` (0: any number) consecutive words inside one sung chunk
    (the phones between two silences), words counted as syllables, whose first and last phones have a
    matched read phone (read and sung phone sequences aligned with difflib)."""
    read_ph = [i for i, lab in enumerate(read) if not is_silence(lab[2])]
    sing_ph = [i for i, lab in enumerate(sing) if not is_silence(lab[2])]
    matcher = difflib.SequenceMatcher(None, [read[i][2] for i in read_ph], [sing[i][2] for i in sing_ph],
                                      autojunk=False)
    match = {sing_ph[b + k]: read_ph[a + k] for a, b, n in matcher.get_matching_blocks() for k in range(n)}
    chunks, current = [], []
    for i, lab in enumerate(sing):
        if is_silence(lab[2]):
            chunks, current = chunks + [current] * bool(current), []
        else:
            current.append(i)
    chunks += [current] * bool(current)
    spans = []
    for chunk in chunks:
        bounds = syllable_starts([sing[i][2] for i in chunk]) + [len(chunk)]
        n = len(bounds) - 1
        for first in range(n):
            for last in range(first + min_words - 1, min(n, first + max_words) if max_words else n):
                phones = chunk[bounds[first]: bounds[last + 1]]
                if phones[0] not in match or phones[-1] not in match:
                    continue
                pairs = [(read[match[i]][0], sing[i][0]) for i in phones if i in match]
                pairs.append((read[match[phones[-1]]][1], sing[phones[-1]][1]))
                anchors = [pairs[0]]
                for pair in pairs[1:]:  # keep both sequences strictly ascending
                    if pair[0] > anchors[-1][0] and pair[1] > anchors[-1][1]:
                        anchors.append(pair)
                spans.append(Span((pairs[0][0], pairs[-1][0]), (pairs[0][1], pairs[-1][1]), tuple(anchors),
                                  last - first + 1))
    return spans


@dataclass
class Sample:
    """Features of one span: X (F, T) speech, Y (F, T) singing, f0 (T,) Hz, phones (T,) class ids."""

    name: str
    singer: str
    X: np.ndarray
    Y: np.ndarray
    f0: np.ndarray
    phones: np.ndarray
    speech: np.ndarray  # the unstretched speech of the span (for speaker similarity)
    speech_s: float  # seconds of speech after silence removal


def speech_features(speech: np.ndarray, n_frames: int, d: DictConfig, align: str = "uniform",
                    anchors: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """X = log(1 + |stretched STFT|) ``(F, n_frames)`` of ``speech``, and the seconds of speech used."""
    if align == "phsync":
        magnitude = np.abs(fx.complex_stft(speech, d.n_fft, d.hop_length))
        positions = fx.anchored_positions(anchors, n_frames, d.hop_length / d.sample_rate)
        return np.log1p(fx.stretched_magnitude(magnitude, positions)), len(speech) / d.sample_rate
    voiced = fx.remove_silence(speech, d.hop_length, d.silence_db, d.silence_run)
    magnitude = np.abs(fx.complex_stft(voiced, d.n_fft, d.hop_length))
    stretched = fx.stretched_magnitude(magnitude, fx.uniform_positions(magnitude.shape[1], n_frames))
    return np.log1p(stretched), len(voiced) / d.sample_rate


def melody_track(rec: Recording, singing: np.ndarray, d: DictConfig) -> tuple[np.ndarray, np.ndarray]:
    """(times s, F0 Hz) of a whole sung recording: its ``.f0`` file, else pYIN on the singing (once)."""
    f0_file = rec.path("sing", "f0")
    if f0_file.is_file():
        track = np.loadtxt(f0_file, comments="#", ndmin=2)
        return track[:, 0], track[:, 1]
    f0 = fx.pyin_contour(singing, d.sample_rate, d.hop_length)
    return np.arange(len(f0)) * d.hop_length / d.sample_rate, f0


def recording_samples(rec: Recording, d: DictConfig, align: str) -> list[Sample]:
    sr, hop = d.sample_rate, d.hop_length
    read_audio, sing_audio = load_audio(rec.path("read", "wav"), sr), load_audio(rec.path("sing", "wav"), sr)
    sing_labels = read_labels(rec.path("sing", "txt"))
    track = melody_track(rec, sing_audio, d)
    label_starts, label_ends = (np.array([lab[i] for lab in sing_labels]) for i in (0, 1))
    label_classes = np.array([fx.phone_class(lab[2]) for lab in sing_labels])
    spans = sample_spans(read_labels(rec.path("read", "txt")), sing_labels, d.min_words, d.max_words)
    samples = []
    for span in spans:
        singing = sing_audio[int(span.sing[0] * sr): int(span.sing[1] * sr)]
        speech = read_audio[int(span.read[0] * sr): int(span.read[1] * sr)]
        Y = fx.log_magnitude(fx.complex_stft(singing, d.n_fft, hop))
        anchors = np.array(span.anchors) - [span.read[0], span.sing[0]]
        X, speech_s = speech_features(speech, Y.shape[1], d, align, anchors)
        times = span.sing[0] + np.arange(Y.shape[1]) * hop / sr
        label = np.clip(np.searchsorted(label_starts, times, side="right") - 1, 0, len(label_starts) - 1)
        phones = np.where((times >= label_starts[label]) & (times < label_ends[label]), label_classes[label],
                          fx.SILENCE)
        f0 = fx.contour_at_frames(*track, Y.shape[1], hop / sr, span.sing[0])
        name = f"{rec.singer}/{rec.song}@{span.sing[0]:.2f}-{span.sing[1]:.2f}"
        samples.append(Sample(name, rec.singer, X, Y, f0, phones, speech, speech_s))
    return samples


FEATURE_KEYS = ("test_song", "sample_rate", "n_fft", "hop_length", "min_words", "max_words", "silence_db",
                "silence_run")
ARRAYS = ("X", "Y", "f0", "phones", "speech")  # per recording, the samples' arrays concatenated along time


def feature_dir(cfg: DictConfig, align: str) -> Path:
    """``<run.root>/speech2sing/features/<align>-<digest>``: the prepared samples of this corpus and these
    ``data`` settings, one folder per recording."""
    key = [str(corpus_root(cfg).resolve()), align, *(cfg.data[k] for k in FEATURE_KEYS)]
    digest = hashlib.sha1(json.dumps(key).encode()).hexdigest()[:12]
    return Path(cfg.run.root) / "speech2sing" / "features" / f"{align}-{digest}"


def prepare_recording(key: tuple, folder: str, song: str, align: str, out: str) -> str:
    """Write the samples of one recording to ``out``: ``X.npy``, ``Y.npy`` (frames, F), ``f0.npy``,
    ``phones.npy`` (frames,), ``speech.npy`` (samples,), each sample's after the previous one's, and
    ``index.json`` (each sample's ranges; written last, so a folder with it is complete)."""
    d = SimpleNamespace(**dict(key))  # plain attributes: omegaconf look-ups cost per sample
    folder_path = Path(folder)
    found = recording_samples(Recording(folder_path.name, song, folder_path), d, align)
    out_path = Path(out)
    out_path.mkdir(parents=True, exist_ok=True)
    frames = np.cumsum([0, *(s.Y.shape[1] for s in found)]).tolist()
    audio = np.cumsum([0, *(len(s.speech) for s in found)]).tolist()
    arrays = {"X": [s.X.T for s in found], "Y": [s.Y.T for s in found], "f0": [s.f0 for s in found],
              "phones": [s.phones for s in found], "speech": [s.speech for s in found]}
    empty = {"X": (0, d.n_fft // 2 + 1), "Y": (0, d.n_fft // 2 + 1)}
    for name, parts in arrays.items():
        joined = np.concatenate(parts) if parts else np.zeros(empty.get(name, (0,)), np.float32)
        np.save(out_path / f"{name}.npy", joined)
    index = [{"name": s.name, "singer": s.singer, "frames": frames[i:i + 2], "audio": audio[i:i + 2],
              "speech_s": s.speech_s} for i, s in enumerate(found)]
    (out_path / "index.tmp").write_text(json.dumps(index))
    (out_path / "index.tmp").rename(out_path / "index.json")
    return out


def load_recording(folder: Path) -> list[Sample]:
    """The samples written by :func:`prepare_recording`, as copy-on-write memory maps (nothing is read until
    used; processes share the pages)."""
    arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="c") for name in ARRAYS}
    out = []
    for entry in json.loads((folder / "index.json").read_text()):
        (a, b), (c, e) = entry["frames"], entry["audio"]
        out.append(Sample(entry["name"], entry["singer"], arrays["X"][a:b].T, arrays["Y"][a:b].T, arrays["f0"][a:b],
                          arrays["phones"][a:b], arrays["speech"][c:e], entry["speech_s"]))
    return out


@functools.lru_cache(maxsize=4)
def _load_splits(base: str, test_song: str, recs: tuple[tuple[str, str], ...]) -> dict[str, list[Sample]]:
    splits: dict[str, list[Sample]] = {"train": [], "test": []}
    for singer, song in recs:
        splits["test" if song == test_song else "train"] += load_recording(Path(base) / f"{singer}-{song}")
    if not splits["train"] or not splits["test"]:
        raise InputError(f"data.test_song={test_song}: needs recordings of that song and of others "
                         f"(found {len(splits['train'])} training and {len(splits['test'])} test samples)")
    return splits


def _unprepared(base: Path, recs: list[Recording]) -> list[Recording]:
    return [r for r in recs if not (base / f"{r.singer}-{r.song}" / "index.json").is_file()]


def _prepare(cfg: DictConfig, base: Path, todo: list[Recording], align: str, run: Callable) -> None:
    if not todo:
        return
    log.info("preparing %d recordings (%s) -> %s", len(todo), align, base)
    key = tuple((k, cfg.data[k]) for k in FEATURE_KEYS)
    list(run(prepare_recording, [key] * len(todo), [str(r.folder) for r in todo], [r.song for r in todo],
             [align] * len(todo), [str(base / f"{r.singer}-{r.song}") for r in todo]))


def samples(cfg: DictConfig, align: str = "uniform", run: Callable = map) -> dict[str, list[Sample]]:
    """``{"train": [...], "test": [...]}``: the paper's split, every recording of ``data.test_song`` held out.
    Recordings not yet prepared under :func:`feature_dir` are prepared first, through ``run`` (``map``, or a
    ``common.parallel.worker_pool`` map), then every process reads them from disk."""
    base, recs = feature_dir(cfg, align), recordings(corpus_root(cfg))
    if _unprepared(base, recs):
        with build_lock(base.parent, base.name):  # another process (eval-all's prepare-ahead) may be writing them
            _prepare(cfg, base, _unprepared(base, recs), align, run)
    return _load_splits(str(base), str(cfg.data.test_song), tuple((r.singer, r.song) for r in recs))


class PairDataset(Dataset):
    """Samples as (input (F, T), pitch image (F, T), target (F, T), phones (T,)); ``source="singing"`` feeds
    Y as input (the Singing Autoencoder). Training items are indexed by ``(index, entropy)``
    (``resumable_loader(..., draws=True)``) and draw their random aligned crop and speech pitch shift from
    ``entropy``, so a resumed run, and every worker process, draws what an uninterrupted run would."""

    def __init__(self, items: list[Sample], d: DictConfig, source: str = "speech", train: bool = False):
        self.items, self.d, self.source, self.train = items, d, source, train

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: int | tuple[int, tuple]):
        index, entropy = key if isinstance(key, tuple) else (key, None)
        s = self.items[index]
        X = s.Y if self.source == "singing" else s.X
        a, b = 0, s.Y.shape[1]
        rng = np.random.default_rng(entropy) if self.train else None
        if self.train and self.d.crop_frames and b > self.d.crop_frames:
            a = int(rng.integers(0, b - self.d.crop_frames + 1))
            b = a + self.d.crop_frames
        X = X[:, a:b]
        if self.train and self.source == "speech" and self.d.pitch_shift > 0:
            X = fx.pitch_shift_spectrogram(X, float(rng.uniform(-self.d.pitch_shift, self.d.pitch_shift)))
        C = fx.pitch_image(s.f0[a:b], s.Y.shape[0], self.d.sample_rate, self.d.pitch_image)
        return tuple(torch.from_numpy(np.ascontiguousarray(v)) for v in (X, C, s.Y[:, a:b], s.phones[a:b]))


def collate(batch):
    """Pad to the longest item: (X, C, Y) ``(B, F, T)``, phones ``(B, T)`` (-100 padded), mask ``(B, T)``."""
    T = max(item[0].shape[1] for item in batch)
    pad = [torch.nn.functional.pad(x, (0, T - x.shape[-1])) for item in batch for x in item[:3]]
    X, C, Y = (torch.stack(pad[i::3]) for i in range(3))
    phones = torch.stack([torch.nn.functional.pad(item[3], (0, T - len(item[3])), value=-100) for item in batch])
    return X, C, Y, phones.long(), phones >= 0


class PairDataModule(pl.LightningDataModule):
    def __init__(self, cfg: DictConfig, align: str, source: str):
        super().__init__()
        self.cfg, self.align, self.source = cfg, align, source

    def setup(self, stage: str | None = None) -> None:
        self.splits = samples(self.cfg, self.align)

    def train_dataloader(self):
        data = PairDataset(self.splits["train"], self.cfg.data, self.source, train=True)
        return resumable_loader(data, self.cfg.data.batch_size, shuffle=True, draws=True, seed=self.cfg.run.seed,
                                collate_fn=collate, num_workers=self.cfg.data.num_workers)

    def val_dataloader(self):
        data = PairDataset(self.splits["test"], self.cfg.data, self.source)
        return DataLoader(data, batch_size=self.cfg.data.batch_size, collate_fn=collate)
