"""SOL notes -> scaled log-mel features, labels, the stratified split and the Lightning data module.

Layout (SOL and TinySOL alike): ``<root>/<Family>/<Instrument>/ordinario/<Inst>-ord-<pitch>-<dyn>[-...].wav``.
Labels come from the file name split on '-': field 0 is the instrument (``Hn``), field 2 the pitch in
scientific notation (``A#4``). Features: the first ``seconds`` of the note at ``sample_rate``, a mel magnitude
spectrogram (``n_mels`` x ``frames``), its log, scaled to [-1, 1] with the training notes' min and max.
``prepare`` computes them once into ``<data.cache>/<key>.npz``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pretty_midi
import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader, TensorDataset
from tqdm import tqdm

from common.audio import load_audio
from common.corpora import ensure_corpus
from common.corpora.manifest import build_lock
from common.errors import InputError
from common.filterbanks import mel_spectrogram
from common.lightning.data import resumable_loader

log = logging.getLogger(__name__)

FEATURES_VERSION = 2  # part of the cache key: bump when note_features changes
FEATURE_KEYS = ("sample_rate", "seconds", "n_fft", "hop_length", "frames", "n_mels", "fmin", "fmax", "log_floor")
SILENCE = 1e-4  # peak amplitude below which a note counts as silent


def feature_settings(data: DictConfig) -> dict:
    return {key: data[key] for key in FEATURE_KEYS}


def sol_root(cfg: DictConfig) -> Path:
    """The SOL root: ``data.sol``, the built synthetic stand-in, or ``data.root`` itself."""
    d = cfg.data
    if d.sol:
        return Path(d.sol)
    if d.synthetic:
        return ensure_corpus("sol", d.root, d.corpus_size)
    return Path(d.root)


def parse_name(path: Path) -> tuple[str, int]:
    """``Hn-ord-A#4-ff-N-N.wav`` -> (``"Hn"``, 70)."""
    fields = path.stem.split("-")
    try:
        return fields[0], int(pretty_midi.note_name_to_number(fields[2]))
    except (IndexError, ValueError):
        raise InputError(f"{path}: name is not <Inst>-<technique>-<pitch>-<dynamics>...; cannot read its "
                         "instrument and pitch labels (rename it or remove it from the SOL folder)") from None


def list_notes(root: Path) -> list[Path]:
    notes = sorted(root.glob("*/*/ordinario/*.wav"))
    if not notes:
        raise InputError(f"no notes under {root}/<Family>/<Instrument>/ordinario/*.wav; point data.root (with "
                         "data.synthetic=false) or data.sol at a SOL folder")
    return notes


def log_mel(audio: np.ndarray, settings: dict) -> np.ndarray:
    """Mono audio at ``sample_rate`` -> log mel magnitude ``(n_mels, frames)`` of its first ``seconds``
    (zero-padded when shorter), peak-normalised first: a note's level, which a recording or a soundfont sets, does
    not move it (the dynamics still show in its spectrum's shape)."""
    n = round(settings["seconds"] * settings["sample_rate"])
    x = torch.from_numpy(np.pad(audio[:n], (0, max(0, n - len(audio)))).astype(np.float32))
    peak = x.abs().max()
    x = x / peak if peak > 0 else x
    mel = mel_spectrogram(x, settings["sample_rate"], settings["n_fft"], settings["hop_length"], settings["n_mels"],
                          power=1.0, fmin=settings["fmin"], fmax=settings["fmax"])
    return mel[:, : settings["frames"]].clamp_min(settings["log_floor"]).log().numpy()


def read_note(path: str | Path, settings: dict, min_seconds: float | None = None) -> np.ndarray:
    """A note file -> its log mel; a silent file, or one shorter than ``min_seconds``, is an ``InputError``."""
    audio = load_audio(path, settings["sample_rate"])
    if min_seconds is not None and len(audio) < min_seconds * settings["sample_rate"]:
        raise InputError(f"{path}: {len(audio) / settings['sample_rate']:.3f} s is too short; the model reads the "
                         f"first {min_seconds:.2f} s of a note")
    if np.abs(audio[: round(settings["seconds"] * settings["sample_rate"])]).max() < SILENCE:
        raise InputError(f"{path}: the first {settings['seconds']:g} s are silent; give a note that starts at once")
    return log_mel(audio, settings)


def cache_path(cfg: DictConfig, root: Path) -> Path:
    key = {"root": str(root.resolve()), "version": FEATURES_VERSION, **feature_settings(cfg.data)}
    digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    return Path(cfg.data.cache) / f"sol-{digest}.npz"


def prepare(cfg: DictConfig) -> Path:
    """Compute the log mels and labels of every note once; returns the cache file."""
    root = sol_root(cfg)
    path = cache_path(cfg, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    with build_lock(path.parent, path.stem):
        if path.is_file():
            return path
        settings = feature_settings(cfg.data)
        notes = list_notes(root)
        labels = [parse_name(p) for p in notes]
        features = np.stack([read_note(p, settings) for p in tqdm(notes, desc="log-mel", unit="note", leave=False)])
        tmp = path.with_suffix(".partial.npz")
        np.savez(tmp, features=features.astype(np.float32), paths=np.array([str(p.relative_to(root)) for p in notes]),
                 instruments=np.array([i for i, _ in labels]), pitches=np.array([p for _, p in labels]))
        tmp.replace(path)
        log.info("prepared %d SOL notes from %s -> %s", len(notes), root, path)
    return path


def labelled_subset(instrument: np.ndarray, percent: int, seed: int) -> np.ndarray:
    """Boolean mask keeping ``percent`` % of the items of every instrument (rounded), drawn at random, so the
    labelled notes follow the instrument distribution."""
    if not 0 <= percent <= 100:
        raise InputError(f"data.label_fraction={percent}: give a percentage between 0 and 100")
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(instrument), dtype=bool)
    for k in np.unique(instrument):
        members = np.flatnonzero(instrument == k)
        mask[rng.choice(members, round(percent / 100 * len(members)), replace=False)] = True
    return mask


@dataclass
class SolNotes:
    """All notes of a prepared SOL folder: scaled features ``x (n, n_mels, frames)`` in [-1, 1] (training
    min/max), class indices, the 90/10 split and the labelled mask (training notes only)."""

    x: np.ndarray
    pitch: np.ndarray  # index into ``pitches``
    instrument: np.ndarray  # index into ``instruments``
    train: np.ndarray  # bool
    labelled: np.ndarray  # bool, False on every validation note
    pitches: list[int]  # MIDI numbers of the M pitch classes
    instruments: list[str]  # names of the K instrument classes
    paths: list[str]
    log_min: float
    log_max: float

    @property
    def val(self) -> np.ndarray:
        return ~self.train

    def ranges(self) -> dict[str, list[int]]:
        """Each instrument's trained range: [lowest, highest] MIDI pitch of its training notes."""
        midi = np.array(self.pitches)[self.pitch]
        return {name: [int(midi[self.train & (self.instrument == k)].min()),
                       int(midi[self.train & (self.instrument == k)].max())]
                for k, name in enumerate(self.instruments)}

    def tensors(self, split: str) -> TensorDataset:
        rows = self.train if split == "train" else self.val
        return TensorDataset(torch.from_numpy(self.x[rows]), torch.from_numpy(self.pitch[rows]),
                             torch.from_numpy(self.instrument[rows]), torch.from_numpy(self.labelled[rows]))


def load_notes(cfg: DictConfig, label_fraction: int | None = None) -> SolNotes:
    """The prepared notes with the split of ``data.split_seed`` and ``label_fraction`` (default
    ``data.label_fraction``) percent of the training instrument labels."""
    d = cfg.data
    with np.load(prepare(cfg)) as cached:
        features, paths = cached["features"], cached["paths"].tolist()
        instrument_names, midi = cached["instruments"], cached["pitches"]
    instruments, instrument = np.unique(instrument_names, return_inverse=True)
    pitches, pitch = np.unique(midi, return_inverse=True)
    index = np.arange(len(paths))
    try:
        _, val_index = train_test_split(index, test_size=d.val_fraction, stratify=instrument,
                                        random_state=d.split_seed)
    except ValueError as err:
        raise InputError(f"data.val_fraction={d.val_fraction}: cannot split {len(paths)} notes of "
                         f"{len(instruments)} instruments by instrument ({err}); use more notes") from None
    train = np.ones(len(paths), dtype=bool)
    train[val_index] = False
    percent = d.label_fraction if label_fraction is None else label_fraction
    labelled = np.zeros(len(paths), dtype=bool)
    labelled[train] = labelled_subset(instrument[train], percent, d.split_seed)
    log_min, log_max = float(features[train].min()), float(features[train].max())
    x = (2 * (features - log_min) / (log_max - log_min) - 1).astype(np.float32)
    return SolNotes(x=x, pitch=pitch.astype(np.int64), instrument=instrument.astype(np.int64), train=train,
                    labelled=labelled, pitches=pitches.tolist(), instruments=instruments.tolist(), paths=paths,
                    log_min=log_min, log_max=log_max)


def scale(log_mel_: np.ndarray | torch.Tensor, log_min: float, log_max: float):
    """Log mel -> [-1, 1] with the training range (values outside it fall outside [-1, 1])."""
    return 2 * (log_mel_ - log_min) / (log_max - log_min) - 1


def unscale(x, log_min: float, log_max: float):
    """Inverse of :func:`scale`."""
    return (x + 1) / 2 * (log_max - log_min) + log_min


class SolDataModule(pl.LightningDataModule):
    """Batches ``(x, pitch, instrument, labelled)`` of the training and validation notes, each gathered in one
    indexing of the in-memory tensors; the training order of each epoch is drawn from ``seed`` (the run's
    seed) and the epoch number. Both loaders carry their own generator (``resumable_loader``), so iterating
    them leaves the training's random state alone."""

    def __init__(self, notes: SolNotes, data: DictConfig, seed: int = 0):
        super().__init__()
        self.notes, self.batch_size, self.num_workers, self.seed = notes, data.batch_size, data.num_workers, seed

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        return resumable_loader(self.notes.tensors(split), batch_size=self.batch_size, shuffle=shuffle,
                                seed=self.seed, batched=True, num_workers=self.num_workers)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)


def describe(notes: SolNotes) -> dict:
    """Counts for logs and reports."""
    return {"notes": len(notes.paths), "train": int(notes.train.sum()), "val": int(notes.val.sum()),
            "labelled": int(notes.labelled.sum()), "pitches (M)": len(notes.pitches),
            "instruments (K)": len(notes.instruments)}


def data_summary(cfg: DictConfig) -> str:
    return json.dumps({**describe(load_notes(cfg)), "features": OmegaConf.to_container(cfg.data)}, indent=1)
