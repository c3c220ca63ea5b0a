"""Corpus completeness: every corpus is built in a hidden sibling directory and renamed into place only
after its ``manifest.json`` is written, so a directory with a manifest is complete and anything else
(a killed build, a hand-made copy) is rebuilt. A file lock serialises builders of the same corpus.

The manifest is deterministic JSON (no timestamps): what was made, how, with which soundfont / voice /
program, the counts of anything skipped, and the totals of the audio written.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import soundfile as sf

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
PARTIAL_TAG = ".partial-"


class Skips:
    """Counts of skipped items by reason, with a few examples of each, for the log and the manifest."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, list[str]] = {}

    def add(self, reason: str, item: str) -> None:
        self.counts[reason] += 1
        examples = self.examples.setdefault(reason, [])
        if len(examples) < 5:
            examples.append(item)

    def report(self, corpus: str) -> dict:
        for reason, count in sorted(self.counts.items()):
            log.warning("%s: skipped %d item(s): %s (e.g. %s)", corpus, count, reason,
                        ", ".join(self.examples[reason]))
        return {reason: {"count": n, "examples": self.examples[reason]} for reason, n in self.counts.items()}


def audio_totals(directory: Path) -> tuple[int, float]:
    """Number of ``.wav`` files under ``directory`` and their total duration in seconds."""
    files = sorted(directory.rglob("*.wav"))
    return len(files), float(sum(sf.info(str(f)).duration for f in files))


def inventory(directory: Path) -> list[str]:
    """Every file under ``directory`` (relative paths, sorted), the manifest itself excluded."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*")
                  if p.is_file() and p.name != MANIFEST_NAME)


NEVER_EMPTY = (".wav", ".flac", ".mid", ".midi")  # a zero-byte file of these kinds is damaged


def missing_files(corpus_dir: Path, manifest: dict) -> list[str]:
    """Files the manifest lists that are gone or, for audio and MIDI, emptied to zero bytes (manifests without a
    list: a shortfall in the count of .wav files is reported as ``["<n> .wav file(s)"]``)."""
    if "inventory" in manifest:
        present = set(inventory(corpus_dir))
        return [name for name in manifest["inventory"] if name not in present
                or (name.lower().endswith(NEVER_EMPTY) and (corpus_dir / name).stat().st_size == 0)]
    shortfall = manifest.get("files", 0) - len(list(corpus_dir.rglob("*.wav")))
    return [f"{shortfall} .wav file(s)"] if shortfall > 0 else []


def read_manifest(corpus_dir: Path) -> dict | None:
    """The manifest of a complete corpus, or ``None`` if the directory is missing or incomplete."""
    try:
        return json.loads((corpus_dir / MANIFEST_NAME).read_text())
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def build_lock(root: Path, name: str):
    """Exclusive lock on ``root/.<name>.lock`` (released by the OS if the process dies)."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_atomically(target: Path, build: Callable[[Path], dict]) -> dict:
    """Run ``build(tmp_dir) -> manifest`` in a sibling temp dir, write the manifest there, then swap the
    temp dir into ``target``. Call under :func:`build_lock`. Leftovers of killed builds are removed."""
    for stale in target.parent.glob(f".{target.name}{PARTIAL_TAG}*"):
        log.warning("removing the leftover of an interrupted build: %s", stale)
        shutil.rmtree(stale, ignore_errors=True)
    if target.exists() and read_manifest(target) is None:
        log.warning("%s has no manifest (incomplete or foreign): rebuilding it", target)
    tmp = target.parent / f".{target.name}{PARTIAL_TAG}{os.getpid()}"
    tmp.mkdir(parents=True)
    try:
        manifest = build(tmp)
        files, seconds = audio_totals(tmp)
        manifest.update(files=files, hours=round(seconds / 3600, 4), inventory=inventory(tmp))
        (tmp / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        if target.exists():
            old = target.parent / f".{target.name}{PARTIAL_TAG}old-{os.getpid()}"
            target.rename(old)
            shutil.rmtree(old)
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest
