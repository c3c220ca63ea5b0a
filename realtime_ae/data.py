"""Corpus builder: any folder of audio -> normalised STFT frames + one-hot chroma, cached, split by clip.

A corpus directory holds ``{train,val,test}/*.wav`` (the synthetic ``scales`` corpora, and the layout to use
for real recordings so that no passage contributes frames to two splits); any other folder of audio files
(wav/flac/ogg/mp3, searched recursively) is split by file with ``data.val_fraction``/``data.test_fraction``.
``prepare`` computes the frames once into ``<data.cache>/<corpus>-<key>/``: ``frames.f32`` (rows, 2049),
``peaks.f32`` (rows,) the per-frame peaks the frames were divided by, ``chroma.u8`` (rows,) pitch classes,
``numbers.u32`` (rows,) each row's STFT frame number in its clip (frame n is centred on sample n * hop), and
``index.json`` listing each clip's split, first row, frame count and dropped silent frames.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from omegaconf import DictConfig
from torch.utils.data import Dataset, DistributedSampler
from torchdata.stateful_dataloader import StatefulDataLoader
from tqdm import tqdm

from common.audio import load_audio
from common.corpora import ensure_corpus
from common.corpora.manifest import build_lock
from common.errors import InputError
from common.lightning.data import resumable_loader
from realtime_ae import features
from realtime_ae.config import CORPORA

log = logging.getLogger(__name__)

FEATURES_VERSION = 2  # part of the cache key: bump when features.audio_frames changes
SPLITS = ("train", "val", "test")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")


def corpus_dir(cfg: DictConfig) -> Path:
    """``<root>/<corpus>``, building the synthetic scales corpus first when ``data.synthetic``."""
    d = cfg.data
    if d.synthetic:
        if d.corpus not in CORPORA:
            raise InputError(f"data.corpus={d.corpus!r}: the synthetic scales corpus has {', '.join(CORPORA)}")
        return ensure_corpus("scales", d.root, size=d.corpus_size) / d.corpus
    path = Path(d.root) / d.corpus
    if not path.is_dir():
        raise InputError(f"{path}: no such corpus folder; set data.root and data.corpus to a folder of audio")
    return path


def audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())


def clip_splits(folder: Path, data: DictConfig) -> list[tuple[Path, str]]:
    """(file, split) of every clip: by sub-directory when ``train/val/test`` exist, else a seeded split."""
    if all((folder / s).is_dir() for s in SPLITS):
        clips = [(f, s) for s in SPLITS for f in audio_files(folder / s)]
        missing = [s for s in SPLITS if not any(split == s for _, split in clips)]
        if missing:
            raise InputError(f"{folder}: {'/'.join(missing)} has no audio files; every split needs at least one")
        return clips
    files = audio_files(folder)
    if len(files) < 3:
        raise InputError(f"{folder}: found {len(files)} audio file(s); need at least 3 (one per split) or "
                         "train/val/test sub-directories")
    order = np.random.default_rng(data.split_seed).permutation(len(files))
    n_val = max(1, round(len(files) * data.val_fraction))
    n_test = max(1, round(len(files) * data.test_fraction))
    split_of = {int(i): "val" if k < n_val else "test" if k < n_val + n_test else "train" for k, i in
                enumerate(order)}
    return [(f, split_of[i]) for i, f in enumerate(files)]


def cache_dir(cfg: DictConfig, clips: list[tuple[Path, str]]) -> Path:
    d = cfg.data
    settings = [FEATURES_VERSION, d.sample_rate, d.n_fft, d.hop_length, d.silence_db]
    files = [(str(f), s, f.stat().st_size) for f, s in clips]
    key = hashlib.sha1(json.dumps([settings, files]).encode()).hexdigest()[:10]
    return Path(d.cache) / f"{Path(d.corpus).name}-{key}"


def prepare(cfg: DictConfig) -> Path:
    """Compute and cache the frames of ``data.corpus`` unless cached; returns the cache directory."""
    d = cfg.data
    folder = corpus_dir(cfg)
    clips = clip_splits(folder, d)
    target = cache_dir(cfg, clips)
    with build_lock(target.parent, target.name):
        if not (target / "index.json").is_file():
            _build(target, folder, clips, d)
    return target


def _build(target: Path, folder: Path, clips: list[tuple[Path, str]], d: DictConfig) -> None:
    tmp = target.with_name(target.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    rows, entries, dropped = 0, [], 0
    with open(tmp / "frames.f32", "wb") as frames, open(tmp / "peaks.f32", "wb") as peaks, \
            open(tmp / "chroma.u8", "wb") as chroma, open(tmp / "numbers.u32", "wb") as numbers:
        for path, split in tqdm(clips, desc=f"prepare {folder.name}", unit="clip", leave=False):
            audio = load_audio(path, d.sample_rate)
            f = features.audio_frames(audio, d.sample_rate, d.n_fft, d.hop_length, d.silence_db)
            n, silent = len(f["frames"]), int((~f["kept"]).sum())
            if n == 0:
                raise InputError(f"{path}: every frame is silent (peak below data.silence_db={d.silence_db} dB); "
                                 "drop the file or lower data.silence_db")
            frames.write(f["frames"].numpy().astype(np.float32).tobytes())
            peaks.write(f["peaks"].numpy().astype(np.float32).tobytes())
            chroma.write(f["chroma"].numpy().astype(np.uint8).tobytes())
            numbers.write(np.flatnonzero(f["kept"].numpy()).astype(np.uint32).tobytes())
            entries.append({"name": str(path.relative_to(folder)), "split": split, "start": rows, "frames": n,
                            "silent_dropped": silent})
            rows, dropped = rows + n, dropped + silent
    index = {"corpus": str(folder), "rows": rows, "bins": d.n_fft // 2 + 1, "silent_dropped": dropped,
             "sample_rate": d.sample_rate, "n_fft": d.n_fft, "hop_length": d.hop_length, "silence_db": d.silence_db,
             "clips": entries}
    (tmp / "index.json").write_text(json.dumps(index, indent=1))
    tmp.rename(target)
    counts = {s: sum(e["frames"] for e in entries if e["split"] == s) for s in SPLITS}
    log.info("prepared %s: %d clips, frames %s, %d silent frames dropped -> %s", folder, len(entries), counts,
             dropped, target)


class PreparedCorpus:
    """A prepared cache: ``clips``, and memory-mapped ``frames`` (rows, bins), ``peaks``, ``chroma``, ``numbers``."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.index = json.loads((self.directory / "index.json").read_text())
        self.rows, self.bins, self.clips = self.index["rows"], self.index["bins"], self.index["clips"]
        self.frames = np.memmap(self.directory / "frames.f32", np.float32, "r", shape=(self.rows, self.bins))
        self.peaks = np.memmap(self.directory / "peaks.f32", np.float32, "r", shape=(self.rows,))
        self.chroma = np.memmap(self.directory / "chroma.u8", np.uint8, "r", shape=(self.rows,))
        self.numbers = np.memmap(self.directory / "numbers.u32", np.uint32, "r", shape=(self.rows,))

    def split_rows(self, split: str) -> np.ndarray:
        rows = [np.arange(c["start"], c["start"] + c["frames"]) for c in self.clips if c["split"] == split]
        return np.concatenate(rows) if rows else np.zeros(0, np.int64)

    def split_clips(self, split: str) -> list[dict]:
        return [c for c in self.clips if c["split"] == split]

    def tensors(self, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """(frames (n, bins) float32, one-hot chroma (n, 12)) of ``rows``, read as runs of consecutive rows (a
        split's clips: one slice each, where indexing the memory map row by row took seconds per model)."""
        rows = np.asarray(rows, dtype=np.int64)
        starts = np.flatnonzero(np.diff(rows, prepend=-2) != 1)
        runs = [(rows[a], rows[b - 1] + 1) for a, b in zip(starts, np.append(starts[1:], len(rows)))]
        frames = np.concatenate([self.frames[a:b] for a, b in runs]) if runs else np.zeros((0, self.bins), np.float32)
        chroma = np.concatenate([self.chroma[a:b] for a, b in runs]) if runs else np.zeros(0, np.uint8)
        return torch.from_numpy(frames), features.onehot(torch.from_numpy(chroma.astype(np.int64)))


@functools.lru_cache(maxsize=8)
def split_tensors(directory: str, stamp: int, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """:meth:`PreparedCorpus.tensors` of a whole split, read once per process and cache version (``stamp``: the
    index's mtime, new when the cache is rebuilt). The eval's workers train dozens of models on each corpus; reading
    a split anew cost every one of them about 2 s (first touches of 130 MB of fresh memory). Shared: read-only."""
    corpus = PreparedCorpus(directory)
    rows = corpus.split_rows(split)
    if len(rows) == 0:
        raise InputError(f"{directory}: the {split} split has no frames")
    return corpus.tensors(rows)


class FrameSet(Dataset):
    """One split held in memory (:func:`split_tensors`); indexed by a list of rows (a whole batch at once)."""

    def __init__(self, corpus: PreparedCorpus, split: str):
        stamp = (corpus.directory / "index.json").stat().st_mtime_ns
        self.frames, self.chroma = split_tensors(str(corpus.directory), stamp, split)

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, rows):
        return self.frames[rows], self.chroma[rows]


class RankBatches(DistributedSampler):
    """One rank's training batches (lists of rows): every epoch's order is a permutation drawn from (seed, epoch)
    (as ``common.lightning.data.ResumableShuffle``'s), dealt round-robin over the ``world`` ranks (the last
    ``n mod world`` rows skipped, so every rank has as many batches), then cut into ``batch_size`` rows: the ranks'
    batches differ, and each is reproducible from (seed, epoch, rank). ``data.batch_size`` is per rank: N ranks step
    on N x 200 frames. A ``DistributedSampler``, so Lightning does not wrap it again; (epoch, batches yielded) is
    the checkpointed state, so a run stopped mid-epoch resumes at its next batch. An epoch whose last batch was
    taken is over."""

    def __init__(self, n: int, batch_size: int, seed: int = 0, rank: int = 0, world: int = 1):
        super().__init__(range(n), num_replicas=world, rank=rank, shuffle=True, seed=seed)
        self.n, self.batch_size, self.world, self.rank = n, batch_size, world, rank
        self.epoch, self.yielded = 0, 0

    def __len__(self) -> int:
        return -(-(self.n // self.world) // self.batch_size)

    def __iter__(self):
        if self.yielded >= len(self):
            self.epoch, self.yielded = self.epoch + 1, 0
        order = torch.randperm(self.n, generator=torch.Generator().manual_seed((self.seed + self.epoch) % 2**63))
        mine = order[self.rank: self.n // self.world * self.world: self.world].tolist()
        while self.yielded < len(self):
            self.yielded += 1
            yield mine[(self.yielded - 1) * self.batch_size: self.yielded * self.batch_size]

    def set_epoch(self, epoch: int) -> None:  # the sampler's own state carries the epoch
        pass

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "yielded": self.yielded}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.yielded = state["epoch"], state["yielded"]


class FrameDataModule(pl.LightningDataModule):
    def __init__(self, corpus: PreparedCorpus, batch_size: int):
        super().__init__()
        self.corpus, self.batch_size = corpus, batch_size

    def setup(self, stage: str | None = None) -> None:
        self.train_set, self.val_set = FrameSet(self.corpus, "train"), FrameSet(self.corpus, "val")

    def train_dataloader(self):
        trainer = self.trainer
        world, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
        seed = torch.initial_seed()  # run.seed, as the CLI seeds every verb
        batches = RankBatches(len(self.train_set), self.batch_size, seed, rank, world)
        return StatefulDataLoader(self.train_set, sampler=batches, batch_size=None,
                                  generator=torch.Generator().manual_seed(seed))

    def val_dataloader(self):
        return resumable_loader(self.val_set, self.batch_size, shuffle=False, batched=True)
