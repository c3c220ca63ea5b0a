"""Which recordings make each task's items, and their train/val/heldout split.

MAPS is ``<maps>/<instrument>/MUS/MAPS_MUS-<piece>_<instrument>.{wav,mid}``: the pieces of the training
pianos ``data.instruments`` split 24/6 by piece (a validation piece is held out on every piano), plus the
validation pieces on the held-out piano ``data.heldout_instrument`` (split ``heldout``, never trained on).
MIR-1K is ``<mir1k>/Wavfile/<singer>_<song>_<clip>.wav``, accompaniment left and voice right, split 88/22 by
song.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from common.audio import load_audio
from common.corpora import ensure_corpus
from common.errors import InputError


@dataclass(frozen=True)
class Item:
    """One piece on one piano (MAPS) or clip (MIR-1K); ``group`` is what the split keeps together (piece or
    song); ``split`` is train, val or heldout (validation pieces on the held-out piano)."""

    name: str
    audio: str
    midi: str | None
    group: str
    split: str = "train"
    instrument: str | None = None


def corpus_root(cfg: DictConfig, corpus: str) -> Path:
    """The MAPS or MIR-1K root: built synthetic stand-in, ``data.maps``/``data.mir1k``, or ``data.root`` when it
    is that corpus itself (``/data/MAPS``, holding ``<instrument>/MUS``; ``/data/MIR-1K``, holding ``Wavfile``),
    else the folder of that name under it."""
    data = cfg.data
    if data.synthetic:
        return ensure_corpus(corpus, data.root, size=data.corpus_size)
    explicit = data.maps if corpus == "maps" else data.mir1k
    if explicit:
        return Path(explicit)
    root = Path(data.root)
    is_corpus = any(root.glob("*/MUS")) if corpus == "maps" else (root / "Wavfile").is_dir()
    return root if is_corpus else root / ("MAPS" if corpus == "maps" else "MIR-1K")


def split_groups(items: list[Item], val_fraction: float, seed: int) -> list[Item]:
    """Assign whole groups to ``val`` (a seeded ``val_fraction`` of them, at least one) and the rest to train."""
    groups = sorted({item.group for item in items})
    if len(groups) < 2:
        raise InputError(f"need at least 2 pieces/songs to split train/val, found {len(groups)}; "
                         "use a larger corpus (data.corpus_size)")
    n_val = min(len(groups) - 1, max(1, round(len(groups) * val_fraction)))
    val = set(np.random.default_rng(seed).permutation(groups)[:n_val].tolist())
    return [Item(**{**asdict(item), "split": "val" if item.group in val else "train"}) for item in items]


def maps_items(root: Path, instrument: str) -> list[Item]:
    """The MUS pieces of one MAPS ``instrument`` folder; ``group`` is the piece (the same on every piano)."""
    folder = root / instrument / "MUS"
    wavs = sorted(folder.glob(f"MAPS_MUS-*_{instrument}.wav"))
    if not wavs:
        raise InputError(f"{folder}: no MAPS_MUS-*_{instrument}.wav files; point data.root at the directory holding "
                         "MAPS/ (or data.maps at MAPS itself), check data.instruments / data.heldout_instrument, "
                         "or set data.synthetic=true")
    items = []
    for wav in wavs:
        midi = wav.with_suffix(".mid")
        if not midi.is_file():
            raise InputError(f"{midi}: missing MIDI file for {wav.name}; MAPS pairs every .wav with a .mid")
        items.append(Item(wav.stem, str(wav), str(midi), wav.stem.removesuffix(f"_{instrument}"),
                          instrument=instrument))
    return items


def check_instruments(data: DictConfig) -> None:
    """``data.instruments`` is a non-empty list without the held-out piano ``data.heldout_instrument``."""
    if not data.instruments:
        raise InputError("data.instruments is empty; list the MAPS pianos to train on, e.g. [AkPnBcht, AkPnStgb]")
    if data.heldout_instrument in data.instruments:
        raise InputError(f"data.heldout_instrument={data.heldout_instrument} is also in data.instruments; the "
                         "held-out piano must not be trained on: remove it from data.instruments")


def piano_items(cfg: DictConfig) -> list[Item]:
    """Task 1 items: every piece of ``data.instruments`` split train/val by piece, and the pieces of
    ``data.heldout_instrument`` that are not training pieces as split ``heldout`` (on the stand-in, where every
    piano plays every piece, these are the validation pieces; on real MAPS also pieces only it plays)."""
    check_instruments(cfg.data)
    root = corpus_root(cfg, "maps")
    pianos = [maps_items(root, name) for name in cfg.data.instruments]
    pieces = {item.group for items in pianos for item in items}
    groups = [Item(group, "", None, group) for group in sorted(pieces)]
    val = {item.group for item in split_groups(groups, cfg.data.val_fraction, cfg.data.split_seed)
           if item.split == "val"}
    heldout = [item for item in maps_items(root, cfg.data.heldout_instrument) if item.group not in pieces - val]
    return ([Item(**{**asdict(item), "split": "val" if item.group in val else "train"})
             for items in pianos for item in items]
            + [Item(**{**asdict(item), "split": "heldout"}) for item in heldout])


def mir1k_items(root: Path) -> list[Item]:
    folder = root / "Wavfile"
    wavs = sorted(folder.glob("*_*_*.wav"))
    if not wavs:
        raise InputError(f"{folder}: no <singer>_<song>_<clip>.wav files; point data.root at the directory "
                         "holding MIR-1K/ (or data.mir1k at MIR-1K itself), or set data.synthetic=true")
    return [Item(wav.stem, str(wav), None, wav.stem.rsplit("_", 1)[0]) for wav in wavs]


def task_items(cfg: DictConfig, task: str) -> list[Item]:
    if task == "midi":
        return piano_items(cfg)
    return split_groups(mir1k_items(corpus_root(cfg, "mir1k")), cfg.data.val_fraction, cfg.data.split_seed)


def load_karaoke(path: str, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """MIR-1K clip -> ``(voice, accompaniment)``, mono float32 at ``sample_rate``."""
    audio = load_audio(path, sample_rate, channels="keep")
    if audio.shape[0] != 2:
        raise InputError(f"{path}: has {audio.shape[0]} channel(s); MIR-1K clips are stereo with the "
                         "accompaniment left and the voice right")
    return audio[1], audio[0]
