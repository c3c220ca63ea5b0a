"""Synthetic corpora written in the real datasets' on-disk layouts (the embedded default data).

A paper package gets its data root with::

    from common.corpora import ensure_corpus
    maps_root = ensure_corpus("maps", "data/synthetic")   # -> data/synthetic/maps/MAPS

which builds the corpus if it is missing, incomplete (a killed build) or was built with another size,
seed or generator version, and returns the directory that plays the role of the real dataset's root.
Each generator module (``maps``, ``mir1k``, ...) documents its layout and what ``size`` scales; sizes are
``"tiny"`` (tests), ``"default"`` or a positive integer. CLI: ``python -m common.corpora build|list``.
"""

from __future__ import annotations

import importlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from common.corpora.manifest import build_atomically, build_lock, missing_files, read_manifest
from common.errors import InputError

log = logging.getLogger(__name__)

DEFAULT_ROOT = Path("data/synthetic")


@dataclass(frozen=True)
class CorpusSpec:
    name: str
    module: str  # generator module inside common.corpora
    layout_root: str  # path inside the corpus directory that stands for the real dataset's root
    stands_in_for: str

    def generator(self):
        return importlib.import_module(f"common.corpora.{self.module}")


CORPORA = {
    spec.name: spec
    for spec in (
        CorpusSpec("maps", "maps", "MAPS", "MAPS ENSTDkCl piano recordings + MIDI (audio-to-MIDI alignment)"),
        CorpusSpec("mir1k", "mir1k", "MIR-1K", "MIR-1K karaoke clips (singing alignment, separation)"),
        CorpusSpec("nus48e", "nus48e", "nus-smc-corpus_48", "NUS-48E sung and spoken lyrics (speech-to-singing)"),
        CorpusSpec("sol", "sol", "TinySOL", "SOL / TinySOL single instrument notes (timbre and pitch)"),
        CorpusSpec("nsynth", "nsynth", "", "NSynth single notes (timbre and pitch)"),
        CorpusSpec("domains", "domains", "", "six classical music domains + unseen domains (music translation)"),
        CorpusSpec("scales", "scales", "", "MicroKORG C-major scales / TU-Note violin (real-time timbre AE)"),
    )
}


def resolve_size(name: str, size: str | int) -> int:
    """``"tiny"``, ``"default"`` or a positive integer (also as a string) -> the generator's integer size."""
    sizes = _spec(name).generator().SIZES
    if isinstance(size, str) and size in sizes:
        return sizes[size]
    try:
        value = int(size)
    except (TypeError, ValueError):
        value = 0
    if value < 1:
        raise InputError(f"corpus size must be 'tiny', 'default' or a positive integer, got {size!r}")
    return value


def _spec(name: str) -> CorpusSpec:
    if name not in CORPORA:
        raise InputError(f"unknown corpus {name!r}; choose from {', '.join(CORPORA)}")
    return CORPORA[name]


def corpus_status(name: str, root: str | Path = DEFAULT_ROOT) -> dict | None:
    """The manifest of a complete corpus under ``root``, else ``None``."""
    return read_manifest(Path(root) / _spec(name).name)


def ensure_corpus(
    name: str, root: str | Path = DEFAULT_ROOT, size: str | int = "default", seed: int = 0, force: bool = False
) -> Path:
    """Path of the real-layout root of corpus ``name`` under ``root``, building it first if it is missing,
    incomplete, built with another size/seed/version, has lost files its manifest lists, or ``force`` is set."""
    spec = _spec(name)
    generator = spec.generator()
    n = resolve_size(name, size)
    root = Path(root)
    target = root / spec.name
    wanted = {"corpus": spec.name, "size": n, "seed": int(seed), "version": generator.VERSION}
    with build_lock(root, spec.name):
        manifest = read_manifest(target)
        lost = missing_files(target, manifest) if manifest is not None else []
        if lost:
            log.warning("corpus %s: %d file(s) its manifest lists are missing or empty (e.g. %s): rebuilding it",
                        name, len(lost), ", ".join(lost[:3]))
        if force or lost or manifest is None or any(manifest.get(k) != v for k, v in wanted.items()):
            log.info("building corpus %s (size %d = %s, seed %d) in %s", name, n, generator.SIZE_MEANS, seed,
                     target)
            started = time.perf_counter()

            def build(tmp: Path) -> dict:
                return {**wanted, "size_means": generator.SIZE_MEANS, "layout_root": spec.layout_root,
                        **generator.build(tmp, n, int(seed))}

            manifest = build_atomically(target, build)
            log.info("built %s: %d files, %.3f h of audio in %.1f s", name, manifest["files"],
                     manifest["hours"], time.perf_counter() - started)
    return target / spec.layout_root
