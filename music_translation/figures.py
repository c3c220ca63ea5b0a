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
from music_translation import inference, scores


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


def embedding_figure(cfg: DictConfig, module, rate: int, out: Path | None) -> dict:
    """Figure 3: cosine similarities of time-averaged embeddings of each pair's notes (velocity 100), drawn to
    ``out`` unless None."""
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
    fig, axes = plt.subplots(len(pairs), 4, figsize=(13, 3.3 * len(pairs)), squeeze=False)
    summary = {}
    for row, (a, b) in enumerate(pairs):
        # pitch grids of two instruments may be offset: pair each of a's pitches with b's nearest within 1
        pitches = [(p, min(notes[b], key=lambda q, p=p: abs(q - p))) for p in sorted(notes[a])]
        pitches = [(p, q) for p, q in pitches if abs(p - q) <= 1]
        ea, eb = embed(a, [p for p, _ in pitches]), embed(b, [q for _, q in pitches])
        # centred: minus the mean embedding of all these notes, so a component shared by every note (which
        # makes raw cosines of a small latent all near 1) does not hide how the rest varies with pitch
        centre = np.concatenate([ea, eb]).mean(0)
        mats = {f"{a} self": scores.cosine_matrix(ea, ea), f"{b} self": scores.cosine_matrix(eb, eb),
                f"{b} (y) vs {a}": scores.cosine_matrix(eb, ea),
                f"{b} (y) vs {a}, centred": scores.cosine_matrix(eb - centre, ea - centre)}
        for ax, (title, m) in zip(axes[row], mats.items()):
            ax.imshow(m, origin="lower", vmin=-1, vmax=1, cmap="viridis")
            ax.set_title(title, fontsize=8)
            ax.set_xlabel("pitch index")
        summary[f"{a}:{b}"] = {"pitches": pitches, **scores.pitch_similarity(mats[f"{b} (y) vs {a}"]),
                               "centred": scores.pitch_similarity(mats[f"{b} (y) vs {a}, centred"])}
    if out is not None:
        fig.tight_layout()
        fig.savefig(out / "figure3_embeddings.png", dpi=90)
    plt.close(fig)
    return summary
