"""The evaluation's timbre-transfer part (the paper's Section 4.4 on the validation notes, default models): the
instrument judge's posterior shift under z_t + alpha (mu_target - mu_source), and how often a transfer at
alpha = 1 succeeds (pitch kept within 50 cents by pYIN and p(target) > p(source) by the judge on the audio),
as a report section with its claim; plus the audio examples of reconstruction and transfer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig

from common.report import Claim, Clip, Example, Figure, Section, Table, mean_ci
from gmvae_timbre import data, experiments, figures, judging, newinputs
from gmvae_timbre.inference import transfer_mels


def success_claim(success: np.ndarray, what: str) -> Claim:
    """Holds when the lower end of the 95% bootstrap interval of the success rate is above one half (most
    transfers succeed); a transfer that keeps the source never succeeds, so it cannot hold."""
    rate, low, high = mean_ci(np.asarray(success, dtype=float))
    return Claim(claim=f"timbre transfer at alpha = 1 moves most notes to the target instrument and keeps their "
                       f"pitch ({what})", holds=bool(low > 0.5),
                 evidence=f"success (pitch kept and p(target) > p(source)) {rate:.3f} [{low:.3f}, {high:.3f}] over "
                          f"{len(success)} (note, target, run) items; smallest detectable distance from one half "
                          f"{(high - low) / 2:.3f}")


def success_at_one(module, judge, notes: data.SolNotes, posteriors: dict, n_iter: int) -> np.ndarray:
    """For the items of ``posteriors`` (:func:`experiments.transfer_posteriors`): transfer at alpha 1 rendered
    to audio, pitch kept by pYIN and p(target) > p(source) by the judge on that audio -> success per item."""
    rows = posteriors["rows"]
    index = {name: k for k, name in enumerate(notes.instruments)}
    source = torch.tensor([index[s] for s, _ in posteriors["pairs"]])
    target = torch.tensor([index[t] for _, t in posteriors["pairs"]])
    audio = module.render(transfer_mels(module, torch.from_numpy(notes.x[rows]), source, target, 1.0), n_iter)
    midi = np.array(notes.pitches)[notes.pitch[rows]]
    scored = newinputs.score_audio(audio, [t for _, t in posteriors["pairs"]], midi.tolist(), judge, module)
    items = np.arange(len(rows))
    return newinputs.transfer_success(scored.hits, scored.probabilities[items, target.numpy()],
                                      scored.probabilities[items, source.numpy()])


def section(cfg: DictConfig, notes: data.SolNotes, models: dict, runs: list, out: Path) -> tuple[Section, dict, Claim]:
    """Posterior shift and success of transfer among ``eval.transfer_instruments``, default models of every run,
    judged by the seed's instrument judge (:func:`judging.judge_run`), pooled over runs (items x runs)."""
    e = cfg.eval
    posteriors, success = [], []
    for seed, threads in runs:
        module = models[("default", 100, seed, threads)]
        judge = models[("cnn-instrument", 100, *judging.judge_run((seed, threads), e.threads))]
        p = experiments.transfer_posteriors(module, notes, judge, list(e.transfer_instruments), list(e.transfer_alphas))
        posteriors.append(p)
        success.append(success_at_one(module, judge, notes, p, e.griffinlim_iters))
    p_target = np.concatenate([r["p_target"] for r in posteriors], axis=1)
    p_source = np.concatenate([r["p_source"] for r in posteriors], axis=1)
    success = np.concatenate(success)
    rows = []
    for i, alpha in enumerate(e.transfer_alphas):
        t, s = mean_ci(p_target[i]), mean_ci(p_source[i])
        rows.append([alpha, f"{t[0]:.3f} [{t[1]:.3f}, {t[2]:.3f}]", f"{s[0]:.3f} [{s[1]:.3f}, {s[2]:.3f}]"])
    figures.transfer(out / "transfer_posterior.png", list(e.transfer_alphas), p_target, p_source)
    result = Section(title="Timbre transfer: posterior shift and success", text=(
        f"Every validation note of {', '.join(e.transfer_instruments)} moved to each of the others with "
        "z_t + alpha (mu_target - mu_source), z_p kept (the default M_GMVAE of each run, source = the note's "
        f"instrument), classified by the run's instrument judge on the decoded mels. Mean probability over "
        f"{p_target.shape[1]} (note, target, run) items with 95% bootstrap intervals. Success at alpha = 1: the "
        "transfer rendered to audio keeps the note's pitch (pYIN, within 50 cents on at least half the frames) "
        "and the judge, on that audio analysed again, gives the target a higher probability than the source. The "
        "paper's results figure for this experiment is missing from our copy."),
        tables=[Table(columns=["alpha", "p(target)", "p(source)"], rows=rows, digits=3)],
        figures=[Figure("transfer_posterior.png", "judge posterior of target and source vs alpha")])
    claim = success_claim(success, "validation notes")
    return result, {"alphas": list(e.transfer_alphas), "p_target": p_target.mean(1).tolist(),
                    "p_source": p_source.mean(1).tolist(), "success": float(success.mean())}, claim


def audio_examples(cfg: DictConfig, notes: data.SolNotes, module) -> list[Example]:
    """Validation notes: input, reconstruction, and timbre transfer to another instrument with a real note of
    that instrument at the nearest pitch as the target (``module``: the default model)."""
    e = cfg.eval
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
        audio = [module.render(mel[None], e.griffinlim_iters)[0] for mel in torch.cat([x, reconstruction, moved])]
        midi = notes.pitches[notes.pitch[row]]
        examples.append(Example(title=f"{source_name} MIDI {midi} -> {target_name}", clips=[
            Clip("input", audio[0], rate, f"{notes.paths[row]} (log mel, Griffin-Lim)"),
            Clip("reconstruction", audio[2], rate, "decoded from the posterior means"),
            Clip("output", audio[3], rate, f"transferred to {target_name}, alpha 1"),
            Clip("target", audio[1], rate, f"{notes.paths[match]} (log mel, Griffin-Lim)")]))
    return examples
