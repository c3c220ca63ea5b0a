"""Datasets of the three tasks, feature caching (``prepare``) and the Lightning data module.

Parallel source/target features per task (``(frames, bands)`` each, same frame grid):

=========== ====================================== ======================================= =========
task        source domain                          target domain                           corpus
=========== ====================================== ======================================= =========
midi        piano roll of the MIDI (128)           log-mel of the audio (128)              MAPS
singing     log-mel of the voice (256)             log-mel of the mixture (256)            MIR-1K
separation  |STFT| of the voice (513)              |STFT| of the mixture (513)             MIR-1K
=========== ====================================== ======================================= =========

The items and their split come from ``da_vae.catalog``. ``prepare`` computes the features once into
``<data.cache>/<task>-<key>/`` (raw float32 matrices read memory-mapped, ``index.json`` listing the items,
``stats.npz`` with per-band train mean/std; the binary piano roll is fed as is, 0/1, like the paper: its
"statistics" are mean 0 and std 1).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from omegaconf import DictConfig
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from common.audio import load_audio
from common.corpora.manifest import build_lock
from common.errors import InputError
from common.lightning.data import resumable_loader
from da_vae import features
from da_vae.catalog import Item, load_karaoke, task_items

log = logging.getLogger(__name__)

FEATURES_VERSION = 4  # part of the cache key: bump when item_features changes


AUDIO_TASKS = ("midi", "singing")  # tasks whose target domain is the log-mel of audio (data.augment applies)


def target_audio(task: str, item: Item, data: DictConfig) -> np.ndarray:
    """The audio whose log-mel is the target feature of a Task 1-2 item: the z-scored piano recording (midi) or
    mixture (singing), mono float32 ``(samples,)`` at ``data.sample_rate``."""
    if task == "midi":
        return features.zscore(load_audio(item.audio, data.sample_rate))
    voice, accompaniment = load_karaoke(item.audio, data.sample_rate)
    return features.zscore(voice + accompaniment)


def item_features(task: str, item: Item, data: DictConfig) -> tuple[np.ndarray, np.ndarray]:
    """``(source (frames, Fs), target (frames, Ft))`` of one item; see the module docstring."""
    sr, n_fft = data.sample_rate, data.n_fft
    hop = features.hop_length(sr, data.hop_ms)
    if task == "midi":
        audio = features.log_mel(target_audio(task, item, data), sr, n_fft, hop, data.midi_mels)
        roll = features.piano_roll(features.load_midi(item.midi), len(audio), hop / sr)
        return roll, audio
    voice, accompaniment = load_karaoke(item.audio, sr)
    mixture = voice + accompaniment
    if task == "singing":
        return (features.log_mel(features.zscore(voice), sr, n_fft, hop, data.singing_mels),
                features.log_mel(target_audio(task, item, data), sr, n_fft, hop, data.singing_mels))
    scale = max(float(mixture.std()), 1e-8)  # z-score of the mixture; the voice keeps its share of it
    return (features.magnitude(voice / scale, n_fft, hop),
            features.magnitude((mixture - mixture.mean()) / scale, n_fft, hop))


def cache_dir(cfg: DictConfig, task: str, items: list[Item]) -> Path:
    """``<data.cache>/<task>-<key>``: the key hashes the feature settings, the split and the input files."""
    data = cfg.data
    settings = {k: data[k] for k in ("sample_rate", "n_fft", "hop_ms", "midi_mels", "singing_mels")}
    files = [(i.name, i.split, Path(i.audio).stat().st_size) for i in items]
    key = hashlib.sha1(json.dumps([FEATURES_VERSION, task, settings, files], sort_keys=True).encode()).hexdigest()[:10]
    return Path(data.cache) / f"{task}-{key}"


def band_moments(name: str, sums: np.ndarray, as_is: bool = False) -> dict[str, np.ndarray]:
    """Per-band ``<name>_mean``/``<name>_std`` (float32, ``(F,)``) from ``sums = (count, sum, sum of squares)``
    of the training frames, shape ``(3, F)``; the std has a floor of 1e-3. ``as_is`` gives mean 0 and std 1:
    the binary piano roll is fed unnormalised, as a z-score would send a pitch unseen in training to 1000;
    ``<name>_rate`` then holds each pitch's share of training frames (the stage-1 decoder starts from it)."""
    count, total, square = sums
    if as_is:
        return {f"{name}_mean": np.zeros(len(total), np.float32), f"{name}_std": np.ones(len(total), np.float32),
                f"{name}_rate": (total / count).astype(np.float32)}
    mean = total / count
    return {f"{name}_mean": mean.astype(np.float32),
            f"{name}_std": np.sqrt(np.maximum(square / count - mean**2, 0) + 1e-6).astype(np.float32)}


def prepare(cfg: DictConfig, task: str) -> Path:
    """Compute and cache the features of ``task`` unless already cached; returns the cache directory."""
    items = [item for item in task_items(cfg, task) if item.split != "heldout"]  # evaluated from the audio
    target = cache_dir(cfg, task, items)
    with build_lock(target.parent, target.name):
        if (target / "index.json").is_file():
            return target
        tmp = target.with_name(target.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        rows, bands, entries = 0, None, []
        sums = [None, None]
        with open(tmp / "source.f32", "wb") as src_file, open(tmp / "target.f32", "wb") as tgt_file:
            for item in tqdm(items, desc=f"prepare {task}", unit="item"):
                pair = item_features(task, item, cfg.data)
                bands = [m.shape[1] for m in pair]
                for file, matrix in zip((src_file, tgt_file), pair):
                    file.write(np.ascontiguousarray(matrix, dtype=np.float32).tobytes())
                entries.append({**asdict(item), "start": rows, "frames": len(pair[0])})
                rows += len(pair[0])
                if item.split == "train":
                    for k, m in enumerate(pair):
                        m = m.astype(np.float64)
                        stats = np.stack([np.full(m.shape[1], len(m)), m.sum(0), np.square(m).sum(0)])
                        sums[k] = stats if sums[k] is None else sums[k] + stats
        moments = {}
        for k, name in enumerate(("source", "target")):
            moments.update(band_moments(name, sums[k], as_is=task == "midi" and name == "source"))
        np.savez(tmp / "stats.npz", **moments)
        (tmp / "index.json").write_text(json.dumps({"task": task, "rows": rows, "bands": bands, "items": entries}))
        tmp.rename(target)
    splits = [e["split"] for e in entries]
    log.info("prepared %s: %d items (%s), %d frames -> %s", task, len(entries),
             ", ".join(f"{splits.count(s)} {s}" for s in dict.fromkeys(splits)), rows, target)
    return target


def prepare_audio(cfg: DictConfig, task: str) -> Path:
    """Cache the target audio of every item of a prepared Task 1-2 (``target_audio``) beside its features, once:
    ``audio.f32`` holds each item's audio with ``n_fft // 2`` zeros on both sides (the centred STFT's padding),
    ``audio.json`` the start of each item in it, the hop and n_fft. Returns the cache directory."""
    if task not in AUDIO_TASKS:
        raise InputError(f"task {task}: data.augment applies to the audio targets of {', '.join(AUDIO_TASKS)} only")
    directory = prepare(cfg, task)
    with build_lock(directory.parent, directory.name + "-audio"):
        if (directory / "audio.json").is_file():
            return directory
        prepared, d = PreparedTask(directory), cfg.data
        items = {item.name: item for item in task_items(cfg, task)}
        pad, starts, total = d.n_fft // 2, [], 0
        with open(directory / "audio.f32.partial", "wb") as file:
            for entry in tqdm(prepared.items, desc=f"prepare {task} audio", unit="item"):
                y = np.pad(target_audio(task, items[entry["name"]], d), pad).astype(np.float32)
                file.write(y.tobytes())
                starts.append(total)
                total += len(y)
        (directory / "audio.f32.partial").rename(directory / "audio.f32")
        geometry = {"hop": features.hop_length(d.sample_rate, d.hop_ms), "n_fft": d.n_fft, "samples": total}
        (directory / "audio.json").write_text(json.dumps({**geometry, "starts": starts}))
    return directory


class PreparedTask:
    """A prepared cache: ``items``, per-band ``stats`` and memory-mapped ``source``/``target`` matrices."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        index = json.loads((self.directory / "index.json").read_text())
        self.task, self.rows, self.bands, self.items = index["task"], index["rows"], index["bands"], index["items"]
        self.stats = {k: torch.from_numpy(v) for k, v in np.load(self.directory / "stats.npz").items()}
        self._maps = self._audio = None

    def matrices(self) -> tuple[np.memmap, np.memmap]:
        if self._maps is None:  # opened lazily, so DataLoader workers open their own maps
            self._maps = tuple(np.memmap(self.directory / f"{name}.f32", np.float32, "r", shape=(self.rows, b))
                               for name, b in zip(("source", "target"), self.bands))
        return self._maps

    def audio(self) -> tuple[np.memmap, dict]:
        """The cached target audio (``prepare_audio``) and its ``audio.json`` (starts per item, hop, n_fft)."""
        if self._audio is None:
            meta = json.loads((self.directory / "audio.json").read_text())
            self._audio = np.memmap(self.directory / "audio.f32", np.float32, "r", shape=(meta["samples"],)), meta
        return self._audio

    def split(self, split: str) -> list[dict]:
        return [item for item in self.items if item["split"] == split]

    def source_log1p_mean(self) -> torch.Tensor:
        """Per-band mean of ``log(1 + source)`` over the training frames, ``(Fs,)``: for separation, the mean
        voice representation (the separation decoders start their output bias from it)."""
        source = self.matrices()[0]
        total, count = np.zeros(source.shape[1]), 0
        for item in self.split("train"):
            total += np.log1p(np.maximum(source[item["start"] : item["start"] + item["frames"]], 0)).sum(0)
            count += item["frames"]
        return torch.from_numpy(total / max(count, 1)).float()

    def clip(self, item: dict) -> tuple[np.ndarray, np.ndarray]:
        """Raw ``(source, target)`` features of one item."""
        lo, hi = item["start"], item["start"] + item["frames"]
        return tuple(np.array(m[lo:hi]) for m in self.matrices())

    def __getstate__(self):
        return {**self.__dict__, "_maps": None, "_audio": None}


class SegmentPairs(Dataset):
    """Parallel T-frame segments every ``hop`` frames of one split -> normalised ``(source (T, Fs),
    target (T, Ft), raw target-of-the-source (T, Fs))`` float32 tensors, and with ``audio`` the target audio the
    T frames are taken from, ``((T - 1) stft hop + n_fft,)`` samples (see ``prepare_audio``)."""

    def __init__(self, prepared: PreparedTask, split: str, frames: int, hop: int, audio: bool = False):
        self.prepared, self.frames, self.with_audio = prepared, frames, audio
        items = prepared.split(split)
        if audio:  # the start in the cached audio of frame 0 of every row of the feature matrices
            meta = prepared.audio()[1]
            index = {item["name"]: k for k, item in enumerate(prepared.items)}
            self.audio_offset = {item["start"]: meta["starts"][index[item["name"]]] for item in items}
            self.audio_length = (frames - 1) * meta["hop"] + meta["n_fft"]
        short = [item["name"] for item in items if item["frames"] < frames]
        if short:
            log.warning("%s/%s: %d item(s) shorter than %d frames give no segments (e.g. %s)", prepared.task, split,
                        len(short), frames, short[0])
        kept = [item for item in items if item["frames"] >= frames]
        self.starts = np.concatenate([np.arange(item["start"], item["start"] + item["frames"] - frames + 1, hop)
                                      for item in kept] or [np.zeros(0, np.int64)])
        if audio:
            self.audio_starts = np.concatenate([
                self.audio_offset[item["start"]] + meta["hop"] * np.arange(0, item["frames"] - frames + 1, hop)
                for item in kept] or [np.zeros(0, np.int64)])
        if len(self.starts) == 0:
            raise InputError(f"{prepared.directory}: the {split} split has no segment of {frames} frames")
        s = prepared.stats
        self.norm = ((s["source_mean"], s["source_std"]), (s["target_mean"], s["target_std"]))

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int):
        start = int(self.starts[index])
        raw = [torch.from_numpy(np.array(m[start : start + self.frames])) for m in self.prepared.matrices()]
        (sm, ss), (tm, ts) = self.norm
        pair = ((raw[0] - sm) / ss, (raw[1] - tm) / ts, raw[0])
        if not self.with_audio:
            return pair
        begin = int(self.audio_starts[index])
        return *pair, torch.from_numpy(np.array(self.prepared.audio()[0][begin : begin + self.audio_length]))


class PairedDataModule(pl.LightningDataModule):
    """Train/val ``SegmentPairs`` of a prepared task; with ``train_audio`` the training batches also hold the
    target audio of each segment (for ``data.augment``; the cache needs ``prepare_audio``)."""

    def __init__(self, prepared: PreparedTask, data: DictConfig, train_audio: bool = False):
        super().__init__()
        self.prepared, self.data, self.train_audio = prepared, data, train_audio

    def setup(self, stage: str | None = None) -> None:
        args = (self.data.segment_frames, self.data.train_hop_frames)
        self.train_set = SegmentPairs(self.prepared, "train", *args, audio=self.train_audio)
        self.val_set = SegmentPairs(self.prepared, "val", *args)

    def train_dataloader(self):
        drop_last = len(self.train_set) > self.data.batch_size  # no ragged last batch (batch norm needs > 1)
        return resumable_loader(self.train_set, batch_size=self.data.batch_size, shuffle=True, drop_last=drop_last,
                                num_workers=self.data.num_workers, persistent_workers=self.data.num_workers > 0)

    def val_dataloader(self):
        return DataLoader(self.val_set, batch_size=self.data.batch_size, num_workers=self.data.num_workers)
