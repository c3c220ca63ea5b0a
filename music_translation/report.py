"""The evaluation's numbers -> a ``common.report.Report`` (tables beside the paper's, claims, notes)."""

from __future__ import annotations

import numpy as np
from omegaconf import DictConfig

from common.report import (
    Claim,
    Clip,
    Example,
    Figure,
    Headline,
    Report,
    Section,
    Table,
    format_ci,
    mean_ci,
    paired_diff,
)

# Table 2 of the paper, "Our" row: (NCC, DTW) per source
PAPER_TABLE2 = {"harpsichord": (0.84, 0.98), "strings": (0.82, 0.97), "new domains": (0.88, 0.98)}
PAPER_LABEL = {"harpsichord": "Harpsichord", "strings": "Orchestra", "new domains": "New domains"}


def _paper(group: str) -> tuple[float | None, float | None]:
    key = "new domains" if group.startswith("new domains") else group
    return PAPER_TABLE2.get(key, (None, None))


def _ci(values) -> str:
    return format_ci(*mean_ci(values))


def lineup_claim(confusion: np.ndarray) -> Claim:
    """The paper's lineup finding (listeners mostly failed to pick the source) for the classifier: its accuracy
    is not shown to be above chance by a one-sided binomial test at 5%."""
    from scipy.stats import binomtest

    k, n, correct = len(confusion), int(confusion.sum()), int(np.trace(confusion))
    test = binomtest(correct, n, 1 / k, alternative="greater")
    low, high = binomtest(correct, n, 1 / k).proportion_ci(0.95, method="wilson")  # two-sided interval
    return Claim("lineup: the source is not picked more often than chance (the paper: listeners mostly failed)",
                 bool(test.pvalue >= 0.05),
                 f"{correct} of {n} sets picked right, accuracy {correct / n:.2f} [{low:.2f}, {high:.2f}] (Wilson) vs "
                 f"chance {1 / k:.2f}; one-sided binomial p = {test.pvalue:.3f}")


def build_report(cfg: DictConfig, results: dict, domains: list[str], examples: list, rate: int,
                 seconds: float) -> Report:
    rows, claims, voiced_rows = [], [], []
    all_tr, all_ch = [], []
    seeds = results["seeds"]
    for group, r in results["table2"].items():
        tr, ch = np.array(r["translation"]), np.array(r["chance"])
        ce = None if r["ceiling"] is None else np.array(r["ceiling"])
        paper_ncc, paper_dtw = _paper(group)
        per_seed = " / ".join(f"{np.mean(np.array(s['table2'][group]['translation'])[:, 0]):.2f}"
                              for s in results["per_seed"])
        rows.append([f"{group} -> {cfg.eval.target}", _ci(tr[:, 0]), per_seed, _ci(ch[:, 0]),
                     None if ce is None else _ci(ce[:, 0]), paper_ncc, _ci(tr[:, 1]), _ci(ch[:, 1]),
                     None if ce is None else _ci(ce[:, 1]), paper_dtw])
        voiced_rows.append([group, _ci(tr[:, 2]), None if ce is None else _ci(ce[:, 2])])
        all_tr.append(tr[:, 0])
        all_ch.append(ch[:, 0])
        d, lo, hi, n = paired_diff(tr[:, 0], ch[:, 0])
        claims.append(Claim(f"{group}: the translation keeps the input's pitch (NCC above chance)", lo > 0,
                            f"paired NCC difference translation - chance {d:.3f} [{lo:.3f}, {hi:.3f}], {n} segments "
                            f"(each the mean over {len(seeds)} models)"))
    confusion = np.array(results["lineup_confusion"])
    k = len(domains)
    accuracy = float(np.trace(confusion) / max(1, confusion.sum()))
    claims.append(lineup_claim(confusion))
    picks = confusion.sum(0)
    favourite = int(picks.argmax())
    fig3 = results["figure3"]
    for pair, f in fig3.items():
        for label, g in (("", f), (", centred", f.get("centred"))):
            if g is None or g["off_diagonal_mean"] is None:
                continue
            d, lo, hi = mean_ci(g["margins"])
            claims.append(Claim(f"embeddings correlate by pitch across instruments ({pair}{label}): same pitch "
                                "more similar than other pitches", lo > 0,
                                f"same-pitch minus other-pitch cosine{label} {d:.4f} [{lo:.4f}, {hi:.4f}] over "
                                f"{len(g['margins'])} pitches; diagonal mean {g['diagonal_mean']:.3f} "
                                "(paper, raw cosine: 0.90-0.95)"))
    tr_all, ch_all = np.concatenate(all_tr), np.concatenate(all_ch)
    sections = [
        Section("Table 2: pitch-contour agreement of input and translation",
                f"pYIN contours (MIDI, 0 where unvoiced) of each {cfg.eval.segment_seconds:g} s test segment and "
                f"its translation by the `{cfg.eval.target}` decoder; NCC = zero-mean normalised "
                "cross-correlation at the best shift (within 0.25 s), DTW = correlation after DTW alignment. "
                f"Chance: the input against unrelated test segments of the target domain (per input, the mean over "
                f"{cfg.eval.segments} of them; it does not depend on the model). Ceiling: the input "
                "against its own domain's autoencoder output (none for unseen domains). Each segment's score is the "
                f"mean over the models of {len(seeds)} training seed(s) ({', '.join(map(str, seeds))}); means with "
                "95% bootstrap intervals over segments, and the mean of each seed's model alone.",
                tables=[Table(["source -> target", "NCC ours", "NCC ours, per seed", "NCC chance", "NCC ceiling",
                               "NCC paper", "DTW ours", "DTW chance", "DTW ceiling", "DTW paper"], rows,
                              caption=f"{cfg.eval.segments} segments per source; paper: Table 2, 'Our' row "
                                      "(the paper's sources: harpsichord, orchestra, new domains)"),
                        Table(["source", "voiced fraction of translation", "voiced fraction of ceiling"],
                              voiced_rows, caption="pYIN voiced-frame fraction of the outputs; the inputs: "
                                                   f"{results['voiced_fraction_inputs']:.2f}")]),
        Section("Figure 2 made automatic: lineup",
                f"{int(confusion.sum())} lineup sets of {k} clips ({cfg.eval.lineup_sets} per model of each of "
                f"{len(seeds)} seed(s); the real source through its own autoencoder and "
                "its translations to the other training domains). A logistic-regression domain classifier on "
                "log-mel statistics, trained on real training audio, picks the clip most confidently of its own "
                f"decoder's domain as the source. Perfectly authentic translations give 1/{k} per cell.",
                tables=[Table(["true source", *[f"picked {d}" for d in domains]],
                              [[d, *confusion[i].tolist()] for i, d in enumerate(domains)],
                              caption=f"counts; accuracy {accuracy:.2f} (chance {1 / k:.2f}); the most picked decoder, "
                                      f"{domains[favourite]}, in {picks[favourite]} of {int(picks.sum())} sets "
                                      "(the paper's Figure 2a: listeners tended to pick one domain whatever the "
                                      "source)")],
                figures=[Figure("figure2_lineup.png", "lineup confusion matrix (the paper's Figure 2 for people): "
                                "colour = fraction of each true source's sets, numbers = counts")]),
        Section("Figure 3: embeddings across pitch (NSynth stand-in)",
                "Cosine similarity of time-averaged encoder embeddings of notes (velocity 100) across pitch: "
                "self-similarity of each instrument and across the pair (the paper's measure), and across the pair "
                "after subtracting the mean embedding of all the pair's notes (centred: a component every note "
                "shares makes raw cosines of a small latent near 1 everywhere).",
                tables=[Table(["pair (y vs x)", "diagonal mean", "off-diagonal mean", "centred diagonal",
                               "centred off-diagonal", "paper diagonal"],
                              [[p, f["diagonal_mean"], f["off_diagonal_mean"],
                                *(f.get("centred", {}).get(key) for key in ("diagonal_mean", "off_diagonal_mean")),
                                "0.90-0.95"] for p, f in fig3.items()], digits=3)],
                figures=[Figure("figure3_embeddings.png", "rows: pairs; columns: self, self, cross, cross centred")]),
    ]
    clip_examples = [Example(f"{source} test segment", [Clip("input", audio, rate, source),
                                                         *[Clip("reconstruction" if d == source else f"to {d}", y,
                                                                rate, d) for d, y in outs.items()]])
                     for source, audio, outs in examples]
    m = cfg.model
    notes = (
        f"Scaled down to run on 2 CPU cores: {rate} Hz instead of 16 kHz; synthetic monophonic tone domains "
        f"({', '.join(domains)}; unseen {', '.join(cfg.data.unseen_domains)}) instead of six classical recordings; "
        f"encoder {m.encoder_blocks}x{m.encoder_layers} layers x {m.encoder_channels} channels (paper 3x10x128), "
        f"latent {m.latent_channels} (64), pooling {m.pool} samples = {1000 * m.pool / rate:g} ms (50 ms), decoders "
        f"{m.decoder_blocks}x{m.decoder_layers} x {m.residual_channels} (4x10x128; receptive field "
        f"{m.decoder_blocks * (2 ** m.decoder_layers - 1) + 1} samples, the paper's 4,093), Adam at {cfg.optim.lr:g} "
        f"(1e-3); {cfg.trainer.max_steps} batches of {cfg.data.batch_size} x {cfg.data.segment_seconds:g} s "
        "(the paper: 6 days on 8 V100s). There are no human musicians or listeners here: chance and ceiling "
        "references replace the human rows of Table 2, and a classifier replaces the lineup listeners. "
        f"Over all sources, translation NCC {_ci(tr_all)} vs chance {_ci(ch_all)}. A WaveNet this small "
        "imitates a domain's timbre only coarsely: the voiced fractions above say how much pitch its outputs "
        "carry, the audio examples how they sound.")
    headline = [Headline("NCC, all sources", float(tr_all.mean()), 0.85),
                Headline("lineup accuracy", accuracy, None)]
    return Report(package="music_translation",
                  title="music_translation: Mor et al. (2018), a universal music translation network",
                  summary=f"{len(seeds)} model(s) (training seeds {', '.join(map(str, seeds))}), each trained "
                          f"{cfg.trainer.max_steps} steps on {', '.join(domains)} at {rate} Hz; evaluated on "
                          f"held-out test melodies ({cfg.eval.segments} segments per source).",
                  sections=sections, claims=claims, headline=headline, examples=clip_examples, notes=notes,
                  seconds=seconds, results=results)
