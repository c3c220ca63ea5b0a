"""Domains on disk -> cached mu-law arrays -> random one-domain batches.

``prepare`` converts every audio file of a domain folder once (any format and rate -> ``sample_rate`` mono,
8-bit mu-law) into ``<cache>/<rate>hz/<domain>/<split>.u8`` (all files concatenated) with an index
``<split>.json``; training memory-maps them. Files shorter than one training segment are counted and
skipped. Batches hold ``batch_size`` random segments of ONE domain; batch ``i`` of rank ``r`` in a world of
``W`` ranks is domain ``(i * W + r) % k``, so every decoder gets its share of batches on any world size.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from omegaconf import DictConfig
from torch.utils.data import DataLoader, Dataset, IterableDataset, get_worker_info
from torchdata.stateful_dataloader import StatefulDataLoader
from tqdm import tqdm

from common.audio import AudioError, load_audio
from common.corpora import ensure_corpus, resolve_size
from common.corpora.manifest import build_lock
from common.errors import InputError
from common.mulaw import mu_law_encode
from music_translation import tones

log = logging.getLogger(__name__)

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")
SPLITS = ("train", "val", "test")


def segment_samples(cfg: DictConfig) -> int:
    """Training segment length in samples, a whole number of latent frames."""
    pool = cfg.model.pool
    return max(pool, int(cfg.data.segment_seconds * cfg.data.sample_rate) // pool * pool)


def ensure_synthetic(cfg: DictConfig) -> Path:
    """Build the configured synthetic corpus (``data.corpus``) if needed; returns the domains root."""
    root = Path(cfg.data.root)
    if cfg.data.corpus == "tones":
        size = tones.SIZES.get(cfg.data.corpus_size) or int(cfg.data.corpus_size)
        tones.ensure_tones(root, size)
    elif cfg.data.corpus == "domains":
        ensure_corpus("domains", root.parent, resolve_size("domains", cfg.data.corpus_size))
    elif cfg.data.corpus != "none":
        raise InputError(f"data.corpus={cfg.data.corpus!r}: use tones, domains or none (your own folders)")
    return root


def domain_files(root: Path, domain: str) -> dict[str, list[Path]]:
    """Audio files of ``root/domain`` by split: under a ``val``/``test`` folder -> that split, else train."""
    folder = root / domain
    if not folder.is_dir():
        raise InputError(f"domain folder {folder} does not exist; put the domain's audio files there or fix "
                         "data.root / data.domains")
    files = {split: [] for split in SPLITS}
    for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES):
        parts = set(path.relative_to(folder).parts[:-1])
        files["test" if "test" in parts else "val" if "val" in parts else "train"].append(path)
    if not any(files.values()):
        raise InputError(f"domain folder {folder} holds no audio files ({', '.join(AUDIO_SUFFIXES)})")
    return files


def cache_dir(cfg: DictConfig, domain: str) -> Path:
    return Path(cfg.data.cache) / f"{cfg.data.sample_rate}hz" / domain


def prepare_domain(cfg: DictConfig, domain: str, root: Path | None = None) -> dict[str, dict]:
    """Convert ``domain``'s files to cached mu-law arrays (skipped when the cache matches); returns the
    per-split index summary {split: {files, seconds, skipped_short}}."""
    root = Path(cfg.data.root) if root is None else root
    out, min_len = cache_dir(cfg, domain), segment_samples(cfg)
    summary = {}
    for split, paths in domain_files(root, domain).items():
        index_path = out / f"{split}.json"
        sources = [[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in paths]
        with build_lock(out, split):  # another process (eval-all's prepare-ahead) may be writing it
            if index_path.is_file() and json.loads(index_path.read_text()).get("sources") == sources:
                index = json.loads(index_path.read_text())
            else:
                index = _convert(paths, out / f"{split}.u8", cfg.data.sample_rate, min_len, f"{domain}/{split}")
                index["sources"] = sources
                index_path.write_text(json.dumps(index, indent=1))
        summary[split] = {"files": len(index["files"]), "seconds": round(index["samples"] / cfg.data.sample_rate, 1),
                          "skipped_short": len(index["skipped_short"])}
        if index["skipped_short"]:
            log.warning("%s/%s: skipped %d file(s) shorter than one %d-sample segment (e.g. %s)", domain, split,
                        len(index["skipped_short"]), min_len, ", ".join(index["skipped_short"][:5]))
    return summary


def _convert(paths: list[Path], array_path: Path, rate: int, min_len: int, what: str) -> dict:
    files, skipped, offset = [], [], 0
    with open(array_path, "wb") as handle:
        for path in tqdm(paths, desc=f"prepare {what}", unit="file", leave=False):
            audio = load_audio(path, rate)
            if len(audio) < min_len:
                skipped.append(str(path))
                continue
            codes = mu_law_encode(torch.from_numpy(audio)).numpy().astype(np.uint8)
            handle.write(codes.tobytes())
            files.append({"path": str(path), "offset": offset, "length": len(codes)})
            offset += len(codes)
    return {"files": files, "samples": offset, "skipped_short": skipped}


class DomainAudio:
    """One split of one prepared domain: memory-mapped codes and the file index."""

    def __init__(self, cfg: DictConfig, domain: str, split: str):
        directory = cache_dir(cfg, domain)
        index_path = directory / f"{split}.json"
        if not index_path.is_file():
            raise InputError(f"{index_path} is missing; run `python -m music_translation prepare` first")
        self.domain, self.split = domain, split
        self.files = json.loads(index_path.read_text())["files"]
        self.codes = (np.memmap(directory / f"{split}.u8", dtype=np.uint8, mode="r") if self.files
                      else np.zeros(0, np.uint8))

    def __len__(self) -> int:
        return len(self.files)

    def file_codes(self, i: int) -> np.ndarray:
        f = self.files[i]
        return np.asarray(self.codes[f["offset"]:f["offset"] + f["length"]])

    def random_segments(self, rng: np.random.Generator, n: int, length: int) -> np.ndarray:
        """``n`` segments of ``length`` codes at uniform positions over all files: (n, length) uint8."""
        starts_per_file = np.array([f["length"] - length + 1 for f in self.files])
        if not len(self.files) or starts_per_file.max() < 1:
            raise InputError(f"domain {self.domain} ({self.split}) has no file of at least {length} samples")
        weights = np.clip(starts_per_file, 0, None) / np.clip(starts_per_file, 0, None).sum()
        which = rng.choice(len(self.files), size=n, p=weights)
        out = np.empty((n, length), np.uint8)
        for row, i in enumerate(which):
            start = self.files[i]["offset"] + rng.integers(starts_per_file[i])
            out[row] = self.codes[start:start + length]
        return out


def domain_of_batch(index: int, rank: int, world: int, n_domains: int) -> int:
    """Domain trained by batch ``index`` of ``rank``: consecutive ranks take consecutive domains."""
    return (index * world + rank) % n_domains


class RandomSegmentBatches(IterableDataset):
    """Epochs of ``batches`` one-domain batches, {"codes": (B, T) long, "domain": int}: batch ``i`` of an epoch
    trains domain :func:`domain_of_batch` with segments drawn from (seed, rank, epoch, i). The epoch and the
    next batch are its state (saved in the checkpoint by a stateful loader), so a resumed run draws what an
    uninterrupted one would."""

    def __init__(self, domains: list[DomainAudio], batch_size: int, length: int, batches: int, seed: int,
                 rank: int = 0, world: int = 1):
        self.domains, self.batch_size, self.length, self.batches = domains, batch_size, length, batches
        self.seed, self.rank, self.world = seed, rank, world
        self.epoch, self.next = -1, batches  # the first iterator starts epoch 0

    def __iter__(self):
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        if self.next >= self.batches:
            self.epoch, self.next = self.epoch + 1, 0
        for i in range(self.next, self.batches):
            if i % workers != worker:
                continue
            self.next = i + 1
            d = domain_of_batch(i, self.rank, self.world, len(self.domains))
            rng = np.random.default_rng([self.seed, self.rank, self.epoch, i])
            codes = self.domains[d].random_segments(rng, self.batch_size, self.length)
            yield {"codes": torch.from_numpy(codes.astype(np.int64)), "domain": d}
        self.next = self.batches

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "next": self.next}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.next = state["epoch"], state["next"]


class FixedSegmentBatches(Dataset):
    """Validation: ``n`` fixed random segments per domain, in batches of one domain."""

    def __init__(self, domains: list[DomainAudio], n: int, batch_size: int, length: int, seed: int):
        self.batches = []
        for d, audio in enumerate(domains):
            if not len(audio):
                continue
            codes = audio.random_segments(np.random.default_rng([seed, d]), n, length)
            for i in range(0, n, batch_size):
                self.batches.append({"codes": torch.from_numpy(codes[i:i + batch_size].astype(np.int64)),
                                     "domain": d})

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int) -> dict:
        return self.batches[i]


def validation_samples(cfg: DictConfig) -> int:
    """Validation segment length: a training segment, or longer when the audio examples cut from it
    (``translate.example_seconds``) need more; whole latent frames."""
    pool = cfg.model.pool
    return max(segment_samples(cfg), int(cfg.translate.example_seconds * cfg.data.sample_rate) // pool * pool)


class TranslationData(pl.LightningDataModule):
    """Train/val loaders over the ``domains`` (default: ``data.domains``) of ``root`` (default: ``data.root``),
    prepared first if need be (on one process per node, before any rank reads them)."""

    def __init__(self, cfg: DictConfig, domains: list[str] | None = None, root: Path | None = None):
        super().__init__()
        self.cfg, self.names, self.root = cfg, list(domains or cfg.data.domains), root

    def prepare_data(self) -> None:
        root = self.root or ensure_synthetic(self.cfg)
        for name in self.names:
            prepare_domain(self.cfg, name, root)

    def setup(self, stage: str | None = None) -> None:
        rank, world = (self.trainer.global_rank, self.trainer.world_size) if self.trainer else (0, 1)
        d, length = self.cfg.data, segment_samples(self.cfg)
        train = [DomainAudio(self.cfg, name, "train") for name in self.names]
        for audio in train:
            if not len(audio):
                raise InputError(f"domain {audio.domain} has no training file of at least {length} samples; "
                                 "add audio or lower data.segment_seconds")
        self.train_set = RandomSegmentBatches(train, d.batch_size, length, d.batches_per_epoch,
                                              self.cfg.run.seed, rank, world)
        self.val_set = FixedSegmentBatches([DomainAudio(self.cfg, name, "val") for name in self.names],
                                           d.val_segments, d.batch_size, validation_samples(self.cfg),
                                           self.cfg.run.seed)

    def train_dataloader(self):
        return StatefulDataLoader(self.train_set, batch_size=None, num_workers=self.cfg.data.num_workers)

    def val_dataloader(self):
        return DataLoader(self.val_set, batch_size=None)


def load_file_codes(path: str | Path, sample_rate: int) -> torch.Tensor:
    """An audio file -> mu-law codes (T,) long at ``sample_rate``; silence is a one-line error."""
    audio = load_audio(path, sample_rate)
    if np.abs(audio).max() < 1e-4:
        raise AudioError(f"{path}: the audio is silent (peak below -80 dBFS); nothing to translate")
    return mu_law_encode(torch.from_numpy(audio))
