"""The evaluation's timbre-transfer part: the instrument CNN's posterior shift under z_t + alpha (mu_target -
mu_source) as a report section, and audio examples of reconstruction and transfer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig

from common.report import Claim, Clip, Example, Figure, Section, Table, mean_ci, paired_diff
from gmvae_timbre import data, experiments, figures
from gmvae_timbre.inference import transfer_mels


def section(cfg: DictConfig, notes: data.SolNotes, models: dict, out: Path) -> tuple[Section, dict, Claim]:
    """Posterior shift of the instrument CNN under z_t + alpha (mu_target - mu_source), M_GMVAE at
    ``eval.transfer_label_fraction``, pooled over seeds (items x seeds)."""
    e = cfg.eval
    runs = [experiments.transfer_posteriors(models[("gmvae", e.transfer_label_fraction, s)], notes,
                                            models[("cnn-instrument", 100, s)], list(e.transfer_instruments),
                                            list(e.transfer_alphas)) for s in e.seeds]
    p_target = np.concatenate([r["p_target"] for r in runs], axis=1)
    p_source = np.concatenate([r["p_source"] for r in runs], axis=1)
    rows = []
    for i, alpha in enumerate(e.transfer_alphas):
        t, s = mean_ci(p_target[i]), mean_ci(p_source[i])
        rows.append([alpha, f"{t[0]:.3f} [{t[1]:.3f}, {t[2]:.3f}]", f"{s[0]:.3f} [{s[1]:.3f}, {s[2]:.3f}]"])
    shift = paired_diff(p_target[-1], p_target[0])
    figures.transfer(out / "transfer_posterior.png", list(e.transfer_alphas), p_target, p_source)
    section = Section(title="Timbre transfer: posterior shift of the instrument CNN", text=(
        f"Every validation note of {', '.join(e.transfer_instruments)} moved to each of the other three with "
        f"z_t + alpha (mu_target - mu_source), z_p kept (M_GMVAE, N = {e.transfer_label_fraction} %), classified "
        f"by the instrument CNN (all labels). Mean probability over {p_target.shape[1]} (note, target, seed) items "
        "with 95% bootstrap intervals. The paper's results figure for this experiment is missing from our copy."),
        tables=[Table(columns=["alpha", "p(target)", "p(source)"], rows=rows, digits=3)],
        figures=[Figure("transfer_posterior.png", "CNN posterior of target and source vs alpha")])
    claim = Claim(claim="timbre transfer shifts the CNN posterior toward the target instrument (alpha 1 vs 0)",
                  holds=shift[1] > 0, evidence=f"p(target) difference {shift[0]:+.3f} [{shift[1]:+.3f}, "
                                               f"{shift[2]:+.3f}] over {shift[3]} paired items")
    return section, {"alphas": list(e.transfer_alphas), "p_target": p_target.mean(1).tolist(),
                     "p_source": p_source.mean(1).tolist()}, claim


def audio_examples(cfg: DictConfig, notes: data.SolNotes, models: dict) -> list[Example]:
    """Validation notes: input, reconstruction, and timbre transfer to another instrument with a real note of
    that instrument at the nearest pitch as the target."""
    e, seed = cfg.eval, cfg.eval.seeds[0]
    module = models[("gmvae", e.transfer_label_fraction, seed)]
    rate = module.hparams.features["sample_rate"]
    names = list(e.transfer_instruments)
    examples = []
    for i, source_name in enumerate(names[: e.examples]):
        target_name = names[(i + 1) % len(names)]
        s, t = notes.instruments.index(source_name), notes.instruments.index(target_name)
        row = np.flatnonzero(notes.val & (notes.instrument == s))[0]
        candidates = np.flatnonzero(notes.instrument == t)
        match = candidates[np.argmin(np.abs(np.array(notes.pitches)[notes.pitch[candidates]]
                                            - notes.pitches[notes.pitch[row]]))]
        x = torch.from_numpy(notes.x[[row, match]])
        with torch.no_grad():
            reconstruction = transfer_mels(module, x[:1], torch.tensor([s]), torch.tensor([s]), 0.0)
            moved = transfer_mels(module, x[:1], torch.tensor([s]), torch.tensor([t]), 1.0)
        audio = module.render(torch.cat([x, reconstruction, moved]), e.griffinlim_iters)
        midi = notes.pitches[notes.pitch[row]]
        examples.append(Example(title=f"{source_name} MIDI {midi} -> {target_name}", clips=[
            Clip("input", audio[0], rate, f"{notes.paths[row]} (log mel, Griffin-Lim)"),
            Clip("reconstruction", audio[2], rate, "decoded from the posterior means"),
            Clip("output", audio[3], rate, f"transferred to {target_name}, alpha 1"),
            Clip("target", audio[1], rate, f"{notes.paths[match]} (log mel, Griffin-Lim)")]))
    return examples
