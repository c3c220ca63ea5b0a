"""The evaluation's numbers -> a ``common.report.Report`` (tables beside the paper's, claims, notes)."""

from __future__ import annotations

import numpy as np
from omegaconf import DictConfig

from common.report import Claim, Clip, Example, Figure, Headline, Report, Section, Table, format_ci, mean_ci
from common.report.targets import new_inputs_section
from music_translation import claims, newinputs
from music_translation.scores import MEASURES

# Table 2 of the paper, "Our" row: (NCC, DTW) per source
PAPER_TABLE2 = {"harpsichord": (0.84, 0.98), "strings": (0.82, 0.97), "new domains": (0.88, 0.98)}
NCC, DTW, RPA = (MEASURES.index(m) for m in ("ncc", "dtw", "rpa"))


def _paper(group: str) -> tuple[float | None, float | None]:
    return PAPER_TABLE2.get("new domains" if group.startswith("new domains") else group, (None, None))


def _ci(values) -> str:
    return format_ci(*mean_ci(values))


def _model_label(m: dict) -> str:
    return f"s{m['seed']}/t{m['threads']}"


def table2_section(cfg: DictConfig, results: dict) -> tuple[Section, list[Claim], np.ndarray, np.ndarray]:
    rows, voicing, found = [], [], []
    all_tr, all_ch = [], []
    models = results["per_model"]
    for group, r in results["table2"].items():
        tr, ch = np.array(r["translation"]), np.array(r["chance"])
        ce = None if r["ceiling"] is None else np.array(r["ceiling"])
        paper_ncc, paper_dtw = _paper(group)
        each = " / ".join(f"{np.mean(np.array(m['table2'][group]['translation'])[:, NCC]):.2f}" for m in models)
        rows.append([f"{group} -> {cfg.eval.target}", _ci(tr[:, NCC]), each, _ci(ch[:, NCC]),
                     None if ce is None else _ci(ce[:, NCC]), paper_ncc, _ci(tr[:, DTW]), _ci(ch[:, DTW]),
                     paper_dtw, _ci(tr[:, RPA]), _ci(ch[:, RPA]), None if ce is None else _ci(ce[:, RPA])])
        voicing.append([group, *(_ci(tr[:, MEASURES.index(m)]) for m in ("voiced_ratio", "recall", "false_alarm")),
                        None if ce is None else _ci(ce[:, MEASURES.index("voiced_ratio")])])
        all_tr.append(tr[:, NCC])
        all_ch.append(ch[:, NCC])
        found.append(claims.keeps_pitch(group, tr[:, NCC], ch[:, NCC], len(models)))
    labels = ", ".join(_model_label(m) for m in models)
    section = Section(
        "Table 2: pitch kept by the translations",
        f"pYIN contours of each {cfg.eval.segment_seconds:g} s test segment and its translation by the "
        f"`{cfg.eval.target}` decoder, compared on the frames voiced in both: NCC = zero-mean normalised "
        "cross-correlation at the best shift (within 0.25 s), DTW = correlation of the voiced frames after DTW "
        "alignment, RPA = raw pitch accuracy (mir_eval: within 50 cents). Voicing is reported apart. Chance: the "
        "input against unrelated test segments of the target domain seen through the translation's own voicing "
        f"(the mean over {cfg.eval.segments} of them), so it scores the same frames. Ceiling: the source's own "
        f"autoencoder (none for unseen domains). Each segment's score is the mean over the {len(models)} models "
        f"(seed/threads: {labels}); means with 95% bootstrap intervals over segments, and each model's mean.",
        tables=[Table(["source -> target", "NCC ours", "NCC per model", "NCC chance", "NCC ceiling", "NCC paper",
                       "DTW ours", "DTW chance", "DTW paper", "RPA ours", "RPA chance", "RPA ceiling"], rows,
                      caption=f"{cfg.eval.segments} segments per source; paper: Table 2, 'Our' row (its sources: "
                              "harpsichord, orchestra, new domains)"),
                Table(["source", "voiced ratio (output / input)", "voicing recall", "voicing false alarm",
                       "voiced ratio of ceiling"], voicing,
                      caption=f"the inputs are {results['voiced_fraction_inputs']:.2f} voiced")])
    return section, found, np.concatenate(all_tr), np.concatenate(all_ch)


def lineup_section(results: dict, domains: list[str], cfg: DictConfig) -> tuple[Section, Claim]:
    test, control = np.array(results["lineup"]["test"]), np.array(results["lineup"]["control"])
    k = len(domains)
    claim = claims.lineup(test, control)
    table = Table(["true source", *[f"picked {d}" for d in domains], *[f"control: picked {d}" for d in domains]],
                  [[d, *test[i].tolist(), *control[i].tolist()] for i, d in enumerate(domains)],
                  caption=f"counts; accuracy {np.trace(test) / max(1, test.sum()):.2f}, control "
                          f"{np.trace(control) / max(1, control.sum()):.2f} (chance {1 / k:.2f})")
    section = Section(
        "Figure 2 made automatic: lineup",
        f"{int(test.sum())} lineup sets of {k} clips ({cfg.eval.lineup_sets} per model, {cfg.eval.lineup_seconds:g} s "
        "each): a test segment through its own autoencoder and its translations by the other decoders (the paper's "
        f"sets hold 6 clips, one per its 6 decoders; this run has {k} decoders). A domain classifier on log-mel "
        "statistics scores each clip by the log-probability of its decoder's domain; the picker is calibrated per "
        f"decoder on {cfg.eval.calibration_segments} validation segments per domain (Gaussian likelihood ratio of "
        "reconstruction vs translation) and picks the clip with the largest ratio. Control: the same sets with the "
        "real audio in place of the reconstruction, the picker calibrated on real audio vs translations. "
        "Perfectly authentic translations give 1/k per cell.",
        tables=[table], figures=[Figure("figure2_lineup.png", "lineup confusion matrix (test sets): colour = "
                                        "fraction of each true source's sets, numbers = counts")])
    return section, claim


def figure3_section(results: dict) -> tuple[Section, list[Claim]]:
    fig3, models = results["figure3"], len(results["per_model"])
    rows = [[p, f["pitches"], f["top1"], f["top1_chance"], f["p_top1"], f["auc"], f["p_auc"], f["top1_detectable"]]
            for p, f in fig3.items()]
    section = Section(
        "Figure 3: embeddings across pitch (NSynth stand-in)",
        "Cosine similarity of time-averaged encoder embeddings of notes (velocity 100) across pitch. The paper "
        "reads the diagonal of the cross-instrument matrix; here it is a rank statistic: for each pitch of one "
        "instrument, is the same pitch of the other the most similar note (top-1), and how often does it beat each "
        "other pitch (AUC), against a permutation null of the pitch labels (2,000 shuffles, the same for every "
        "model).",
        tables=[Table(["pair (y vs x)", "pitches", "top-1", "top-1 null", "p", "AUC", "p (AUC)",
                       "smallest top-1 detectable"], rows, digits=3)],
        figures=[Figure("figure3_embeddings.png", "rows: pairs; columns: self, self, cross (first model)")])
    return section, [claims.same_pitch_nearest(p, f, models) for p, f in fig3.items()]


def build_report(cfg: DictConfig, results: dict, domains: list[str], examples: list, rate: int,
                 seconds: float) -> Report:
    t2, pitch_claims, tr_all, ch_all = table2_section(cfg, results)
    lineup, lineup_claim = lineup_section(results, domains, cfg)
    fig3, rank_claims = figure3_section(results)
    heldout, summary = new_inputs_section(
        results["new_inputs_rows"], ["seed", "threads", "input"], newinputs.TARGETS,
        f"Held-out melodies (MIDI {newinputs.LOW}-{newinputs.HIGH}, melody seeds "
        f"{', '.join(map(str, cfg.eval.heldout_seeds))}) rendered by FluidSynth with the MuseScore General soundfont "
        f"({', '.join(cfg.eval.heldout_sources)}; a soundfont and a renderer no corpus uses), "
        f"translated to `{cfg.eval.target}` by every model (seed x torch threads) as `translate` does. pYIN pitch "
        "(common.pitch) on the frames voiced in both; flatness factor = max(r, 1/r) with r the output's median "
        f"spectral flatness over that of real `{cfg.eval.target}` test audio through the same 8-bit mu-law "
        f"({results['reference_flatness']:.5f}).")
    results["new_inputs"] = summary  # the key make readme-results reads
    clip_examples = [Example(f"{source} test segment", [Clip("input", audio, rate, source),
                                                         *[Clip("reconstruction" if d == source else f"to {d}", y,
                                                                rate, d) for d, y in outs.items()]])
                     for source, audio, outs in examples]
    m, models = cfg.model, results["models"]
    notes = (
        f"Scaled down to run on 2 CPU cores: {rate} Hz instead of 16 kHz; synthetic monophonic tone domains "
        f"({', '.join(domains)}; unseen {', '.join(cfg.data.unseen_domains)}) instead of six classical recordings; "
        f"encoder {m.encoder_blocks}x{m.encoder_layers} layers x {m.encoder_channels} channels (paper 3x10x128), "
        f"latent {m.latent_channels} (64), pooling {m.pool} samples = {1000 * m.pool / rate:g} ms (50 ms), decoders "
        f"{m.decoder_blocks}x{m.decoder_layers} x {m.residual_channels} (4x10x128; receptive field "
        f"{m.decoder_blocks * (2 ** m.decoder_layers - 1) + 1} samples, the paper's 4,093), Adam at {cfg.optim.lr:g} "
        f"(1e-3); {cfg.trainer.max_steps} batches of {cfg.data.batch_size} x {cfg.data.segment_seconds:g} s; "
        f"sampling temperature {cfg.translate.temperature:g} (the reference code samples at 1). No human musicians "
        "or listeners: chance and ceiling references replace the human rows of Table 2, and a calibrated picker "
        f"replaces the lineup listeners. Over all sources, translation NCC {_ci(tr_all)} vs chance {_ci(ch_all)}.")
    headline = [Headline("NCC, all sources", float(tr_all.mean()), 0.85),
                Headline("lineup accuracy", float(np.trace(np.array(results["lineup"]["test"]))
                                                  / max(1, np.sum(results["lineup"]["test"]))), None)]
    return Report(package="music_translation",
                  title="music_translation: Mor et al. (2018), a universal music translation network",
                  summary=f"{len(models)} model(s) (seed/threads {', '.join(_model_label(x) for x in models)}), "
                          f"each trained {cfg.trainer.max_steps} steps on {', '.join(domains)} at {rate} Hz; "
                          f"evaluated on held-out test melodies ({cfg.eval.segments} segments per source) and on "
                          "held-out instruments.",
                  sections=[t2, lineup, fig3, heldout], claims=[*pitch_claims, lineup_claim, *rank_claims],
                  headline=headline, examples=clip_examples, notes=notes, seconds=seconds, results=results)
