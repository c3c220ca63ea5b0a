"""NUS-48E recordings: where the corpus is, which (singer, song) pairs it holds, their phone labels.

Layout (real NUS-48E and the ``common.corpora`` stand-in alike)::

    <root>/nus-smc-corpus_48/<SINGER>/read/<nn>.wav, <nn>.txt    speech + "start end phone" labels (s)
    <root>/nus-smc-corpus_48/<SINGER>/sing/<nn>.wav, <nn>.txt    singing + labels
    <root>/nus-smc-corpus_48/<SINGER>/sing/<nn>.f0               optional "time_s f0_hz" melody (stand-in only)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig

from common.corpora import ensure_corpus
from common.corpora.manifest import Skips
from common.errors import InputError

Labels = list[tuple[float, float, str]]


@dataclass(frozen=True)
class Recording:
    singer: str
    song: str
    folder: Path  # <root>/nus-smc-corpus_48/<SINGER>

    def path(self, kind: str, ext: str) -> Path:
        return self.folder / kind / f"{self.song}.{ext}"


def corpus_root(cfg: DictConfig) -> Path:
    """The directory holding ``nus-smc-corpus_48`` (the synthetic stand-in is built there first)."""
    if cfg.data.synthetic:
        return ensure_corpus("nus48e", cfg.data.root, size=cfg.data.corpus_size).parent
    return Path(cfg.data.root)


def recordings(root: Path) -> list[Recording]:
    """Every (singer, song) with both a read and a sung wav and label file."""
    base = root / "nus-smc-corpus_48"
    if not base.is_dir():
        raise InputError(f"data.root={root}: no nus-smc-corpus_48/ folder there; point data.root at the folder "
                         "holding NUS-48E or set data.synthetic=true")
    found, skips = [], Skips()
    for sing in sorted(base.glob("*/sing/*.wav")):
        rec = Recording(sing.parent.parent.name, sing.stem, sing.parent.parent)
        lacking = [f"{k}/{rec.song}.{e}" for k in ("read", "sing") for e in ("wav", "txt")
                   if not rec.path(k, e).is_file()]
        if lacking:
            skips.add(f"unpaired: lacks {lacking[0]}", f"{rec.singer}/sing/{rec.song}.wav")
        else:
            found.append(rec)
    for read in sorted(base.glob("*/read/*.wav")):
        if not (read.parent.parent / "sing" / read.name).is_file():
            skips.add(f"unpaired: lacks sing/{read.name}", f"{read.parent.parent.name}/read/{read.name}")
    skips.report(str(base))
    if not found:
        raise InputError(f"{base}: no <SINGER>/read and sing pairs of <nn>.wav + <nn>.txt found")
    return found


def read_labels(path: Path) -> Labels:
    """``start end phone`` lines -> [(start_s, end_s, phone)], phone lower case without stress digits."""
    labels = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        try:
            labels.append((float(fields[0]), float(fields[1]), fields[2].lower().rstrip("012")))
        except (ValueError, IndexError):
            raise InputError(f"{path}:{number}: expected 'start end phone', got {line!r}") from None
    return labels
