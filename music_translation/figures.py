"""The evaluation's figures: the automatic lineup's confusion matrix (Figure 2) and the embedding similarities
across pitch of NSynth stand-in notes (Figure 3, drawn and summarised)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig

from common.audio import load_audio
from common.corpora import ensure_corpus
from common.mulaw import mu_law_encode
from music_translation import inference


def lineup_figure(confusion: np.ndarray, domains: list[str], path: Path) -> None:
    """The paper's Figure 2 for the automatic lineup: row = true source, column = picked clip, as a heatmap of
    row fractions with the counts written in the cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fractions = confusion / np.maximum(1, confusion.sum(1, keepdims=True))
    fig, ax = plt.subplots(figsize=(1.2 * len(domains) + 2, 1.1 * len(domains) + 1.2))
    ax.imshow(fractions, vmin=0, vmax=1, cmap="viridis")
    for (i, j), count in np.ndenumerate(confusion):
        ax.text(j, i, f"{count}", ha="center", va="center", color="w" if fractions[i, j] < 0.5 else "k")
    ax.set_xticks(range(len(domains)), domains, rotation=30)
    ax.set_yticks(range(len(domains)), domains)
    ax.set_xlabel("picked as the source")
    ax.set_ylabel("true source")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def embedding_figure(cfg: DictConfig, module, rate: int, out: str | Path | None) -> dict:
    """Figure 3: cosine similarities of time-averaged embeddings of each pair's notes (velocity 100): each
    instrument's self-similarity and the cross-instrument matrix (pitch i of the second instrument, pitch j of the
    first), drawn to ``out/figure3_embeddings.png`` unless ``out`` is None. Returns {pair: {"pitches", "cross"}}."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    root = ensure_corpus("nsynth", cfg.eval.nsynth_root, cfg.eval.nsynth_size)
    notes = {}
    for examples in root.glob("nsynth-*/examples.json"):
        for name, meta in json.loads(examples.read_text()).items():
            if meta["velocity"] == 100:
                notes.setdefault(meta["instrument_str"], {})[meta["pitch"]] = examples.parent / "audio" / f"{name}.wav"

    def embed(instrument, pitches):
        codes = torch.stack([mu_law_encode(torch.from_numpy(load_audio(notes[instrument][p], rate)[:rate * 2]))
                             for p in pitches])
        return inference.encode(module, codes).mean(-1).numpy()

    pairs = [p.split(":") for p in cfg.eval.nsynth_pairs if all(i in notes for i in p.split(":"))]
    fig, axes = plt.subplots(len(pairs), 3, figsize=(10, 3.3 * len(pairs)), squeeze=False)
    summary = {}
    for row, (a, b) in enumerate(pairs):
        # pitch grids of two instruments may be offset: pair each of a's pitches with b's nearest within 1
        pitches = [(p, min(notes[b], key=lambda q, p=p: abs(q - p))) for p in sorted(notes[a])]
        pitches = [(p, q) for p, q in pitches if abs(p - q) <= 1]
        ea, eb = embed(a, [p for p, _ in pitches]), embed(b, [q for _, q in pitches])
        mats = {f"{a} self": cosine_matrix(ea, ea), f"{b} self": cosine_matrix(eb, eb),
                f"{b} (y) vs {a}": cosine_matrix(eb, ea)}
        for ax, (title, m) in zip(axes[row], mats.items()):
            ax.imshow(m, origin="lower", vmin=-1, vmax=1, cmap="viridis")
            ax.set_title(title, fontsize=8)
            ax.set_xlabel("pitch index")
        summary[f"{a}:{b}"] = {"pitches": pitches, "cross": mats[f"{b} (y) vs {a}"].tolist()}
    if out is not None:
        fig.tight_layout()
        fig.savefig(Path(out) / "figure3_embeddings.png", dpi=90)
    plt.close(fig)
    return summary


def cosine_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarities of the rows of ``a`` (n, d) and ``b`` (m, d) -> (n, m)."""
    a = a / (np.linalg.norm(a, axis=1, keepdims=True) + 1e-12)
    b = b / (np.linalg.norm(b, axis=1, keepdims=True) + 1e-12)
    return a @ b.T
