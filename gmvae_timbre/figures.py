"""The report's PNG figures (matplotlib): Figure 2 (t-SNE of the timbre space), Figure 3 (synthesis
F-scores) and the transfer posterior curves."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from gmvae_timbre.data import SolNotes


def timbre_space(path: Path, embeddings: dict, notes: SolNotes) -> None:
    """2 x len(N) grid: rows M_VAE / M_GMVAE, columns N; ``embeddings[(kind, N)] = (codes 2-D, means 2-D | None)``
    from :func:`experiments.timbre_tsne`."""
    fractions = sorted({n for _, n in embeddings})
    fig, axes = plt.subplots(2, len(fractions), figsize=(3.2 * len(fractions), 6.4), squeeze=False)
    colours = plt.get_cmap("tab20")(np.linspace(0, 1, len(notes.instruments)))
    for row, kind in enumerate(("vae", "gmvae")):
        for col, n in enumerate(fractions):
            points, centres = embeddings[(kind, n)]
            ax = axes[row, col]
            for k, name in enumerate(notes.instruments):
                members = notes.instrument == k
                ax.scatter(points[members, 0], points[members, 1], s=6, color=colours[k], label=name)
            if centres is not None:
                ax.scatter(centres[:, 0], centres[:, 1], marker="x", s=60, color="black", linewidths=2)
            ax.set_title(f"{'M_VAE' if kind == 'vae' else 'M_GMVAE'}, N = {n}%", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, -1].legend(fontsize=6, markerscale=2, loc="upper right", ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def synthesis(path: Path, scores: dict, fractions: list[int], weights: list[float]) -> None:
    """Instrument and pitch F1 of synthesized notes vs N, one line per w; ``scores["N|w"][target]``."""
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    for ax, target in zip(axes, ("instrument", "pitch")):
        for w in weights:
            ax.plot(fractions, [scores[f"{n}|{w:g}"][target] for n in fractions], marker="o", label=f"w = {w:g}")
        ax.set_xlabel("N (% instrument labels)")
        ax.set_ylabel(f"{target} F1")
        ax.set_ylim(0, 1.02)
        ax.set_xticks(fractions)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def transfer(path: Path, alphas: list[float], p_target: np.ndarray, p_source: np.ndarray) -> None:
    """Mean CNN probability of the target and of the source instrument vs alpha (``(alphas, items)`` arrays)."""
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    for values, label in ((p_target, "p(target)"), (p_source, "p(source)")):
        ax.plot(alphas, values.mean(1), marker="o", label=label)
    ax.set_xlabel("alpha")
    ax.set_ylabel("instrument CNN probability")
    ax.set_ylim(0, 1)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
