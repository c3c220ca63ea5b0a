"""``python -m da_vae eval``: the paper's Tables 2-3 and Figure 4, with the paper's numbers beside ours, which of
its orderings hold here and separation audio examples, written through ``common.report`` to ``<eval.out>/``
(README.md, index.html, results.json, figure4.png, examples/)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from common.errors import InputError
from common.lightning.config import eval_training_logs
from common.report import Claim, Example, Figure, Headline, Report, Section, Table, write_report
from common.report.stats import format_ci, mean_ci
from da_vae import experiments, new_inputs, table3
from da_vae.claims import AUGMENTED, distorted, figure4_claims, table2_claims
from da_vae.config import TASKS
from da_vae.notes import notes
from da_vae.table3 import PAPER_TABLE3

log = logging.getLogger(__name__)

# Luo & Su (2018): Table 2 (median e over the 6 MAPS ENSTDkCl validation pieces); Table 3 is in da_vae.table3.
PAPER_TABLE2 = {"Proposed (L = 128)": 2.48, "Proposed (L = 12)": 4.08, "Chroma": 6.71, "Spec": 39.24}


def table2(result: dict, domain: str) -> Table:
    """Table 2 of one domain: median e (the paper's statistic), mean e with its 95% bootstrap interval over the
    domain's items, and (Proposed) each training seed's median."""
    r = result["domains"][domain]
    rows = []
    for name, median in r["median_e"].items():
        seeds = r["median_e_per_seed"].get(name)
        rows.append([name, median, format_ci(*r["mean_e"][name]),
                     ", ".join(f"{v:.2f}" for v in seeds) if seeds else None, PAPER_TABLE2.get(name)])
    return Table(["feature", "median e, ours", "mean e [95% CI], ours", "median e of each seed", "median e, paper"],
                 rows, caption=f"{domain}: alignment error e in frames of {result['hop_ms']:g} ms over "
                               f"{len(r['items'])} items (piece x piano); Proposed's e is the mean over the training "
                               "seeds")


def figure4_tables(result: dict) -> list[Table]:
    tables = []
    for subtask in ("mono-to-mono", "mono-to-poly"):
        rows = [[step, *(f"{result['median_e'][f'{subtask}|Proposed|{step}|{s}']:.2f} / "
                         f"{result['median_e'][f'{subtask}|MCEP|{step}|{s}']:.2f}" for s in result["stretches"])]
                for step in result["pitch_steps"]]
        tables.append(Table(["pitch", *result["stretches"]], rows,
                            caption=f"{subtask}: median e, Proposed / MCEP; rows: pitch shift in semitones, columns: "
                                    "time-stretch rate"))
    return tables


def figure4_seed_table(result: dict) -> Table:
    """Per subtask, each clip's e averaged over the distorted conditions: mean over clips with its 95% bootstrap
    interval over the clips, for Proposed of each seed, Proposed (mean over seeds) and MCEP."""
    conditions, rows = distorted(result), []
    for sub in ("mono-to-mono", "mono-to-poly"):
        cells = [[result["errors_per_seed"][f"{sub}|{c}"][str(seed)] for c in conditions] for seed in result["seeds"]]
        cells += [[result["errors"][f"{sub}|{name}|{c}"] for c in conditions] for name in ("Proposed", "MCEP")]
        rows.append([sub, *(format_ci(*mean_ci(np.mean(values, axis=0))) for values in cells)])
    return Table(["subtask", *(f"Proposed, seed {seed}" for seed in result["seeds"]), "Proposed, mean of seeds",
                  "MCEP"], rows, caption=f"mean e over the {len(conditions)} distorted conditions, per clip; mean "
                                         f"[95% bootstrap interval] over the {result['clips']} clips")


def figure4(result: dict, path: Path) -> None:
    """Heatmaps of median e (pitch shift x stretch): rows mono-to-mono / mono-to-poly, columns Proposed / MCEP."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    steps, stretches = result["pitch_steps"], result["stretches"]
    grids = {(sub, name): np.array([[result["median_e"][f"{sub}|{name}|{p}|{s}"] for s in stretches] for p in steps])
             for sub in ("mono-to-mono", "mono-to-poly") for name in ("Proposed", "MCEP")}
    floor = 0.1  # log colour scale: errors below a tenth of a frame share the darkest colour
    norm = LogNorm(vmin=floor, vmax=max(floor * 10, max(float(g.max()) for g in grids.values())))
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), constrained_layout=True)
    for ax, ((sub, name), grid) in zip(axes.flat, grids.items()):
        image = ax.imshow(np.maximum(grid, floor), cmap="viridis", norm=norm, aspect="auto")
        for (i, j), value in np.ndenumerate(grid):
            bright = norm(max(value, floor)) > 0.6
            ax.text(j, i, f"{value:.1f}", ha="center", va="center", color="k" if bright else "w", fontsize=8)
        ax.set(title=f"{sub}: {name}", xticks=range(len(stretches)), xticklabels=stretches,
               yticks=range(len(steps)), yticklabels=steps, xlabel="time-stretch rate", ylabel="pitch shift (st)")
    fig.colorbar(image, ax=axes, label=f"median alignment error e (frames of {result['hop_ms']:g} ms, log scale)")
    fig.suptitle(f"Figure 4: singing voice alignment under distortion ({result['clips']} validation clips)")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def orderings(results: dict, tolerance: float = 0.25) -> list[tuple[str, bool, str]]:
    """The paper's claims checked on our numbers: ``(claim, holds, our numbers)``; ``tolerance``: Figure 4's,
    in frames."""
    checks = []
    if "midi" in results:
        checks += table2_claims(results["midi"])
    if "singing" in results:
        checks += figure4_claims(results["singing"], tolerance)
    if "separation" in results:
        checks += table3.claims(results["separation"])
    return checks


def build_report(cfg: DictConfig, results: dict, seconds: dict[str, float], examples: list[Example]) -> Report:
    steps = cfg.trainer.max_steps
    data_line = ("synthetic MAPS / MIR-1K stand-ins (`common.corpora`, size "
                 f"`{cfg.data.corpus_size}`)" if cfg.data.synthetic else f"real datasets under `{cfg.data.root}`")
    sections, headline = [], []
    if "midi" in results:
        r = results["midi"]
        sections.append(Section(
            "Task 1: audio-to-MIDI alignment (Table 2)",
            " ".join(f"""Alignment error e after a non-linear time-stretch of the audio (frames of {r['hop_ms']:g}
            ms; lower is better), on the validation pieces played on the training pianos
            ({', '.join(r['instruments'])}: in-domain) and on the held-out piano {r['heldout_instrument']}, whose
            soundfont no training piano uses; models trained with seeds {r['seeds']} (`eval.seeds`). Rows ending in
            `{AUGMENTED.strip()}`: the same source VAEs, stage 2 trained on augmented piano audio (`data.augment`:
            random EQ, synthetic room reverb and level per training segment; `eval.midi_augment`). Intervals: 95%
            percentile bootstrap over the items; each ordering is decided on the paired per-item differences (claims
            below).""".split()),
            tables=[table2(r, domain) for domain in r["domains"]]))
        for domain, result in r["domains"].items():
            best = next(iter(result["median_e"]))
            headline.append(Headline(f"Table 2 e, {best}, {domain}", result["median_e"][best], PAPER_TABLE2.get(best),
                                     "frames"))
    if "singing" in results:
        sections.append(Section("Task 2: singing voice alignment (Figure 4)",
                                f"Median e over all {results['singing']['clips']} validation clips (`eval.max_clips`: "
                                "0); Proposed's e on a clip is the mean over the models of the training seeds "
                                f"{results['singing']['seeds']} (`eval.seeds`). The paper gives these only as plots "
                                "(no numbers); its claim is that Proposed is below MCEP throughout, decided here on "
                                "paired per-clip differences with 95% bootstrap intervals over the clips: lower over "
                                "the distorted conditions, and in no single one above MCEP by the tolerance (claims "
                                "below).",
                                tables=[*figure4_tables(results["singing"]), figure4_seed_table(results["singing"])],
                                figures=[Figure("figure4.png", "median e under pitch shift x time-stretch")]))
    if "separation" in results:
        r = results["separation"]
        sections.append(Section("Task 3: singing voice separation (Table 3)", table3.text(r),
                                tables=[*table3.tables(r), table3.sweep_table(r)]))
        first = r["tables"][r["outputs"][0]]["rDAE + wt"]["SDR"][0]
        headline.append(Headline(f"Table 3 SDR, rDAE + wt ({r['outputs'][0]})", first,
                                 PAPER_TABLE3["rDAE + wt"]["SDR"], "dB"))
    new_inputs_entry = {}
    if "new_inputs" in results:
        section, new_inputs_entry = new_inputs.section(results["new_inputs"])
        sections.append(section)
    return Report(
        package="da_vae", title="da_vae: Luo & Su (ISMIR 2018), domain-adaptive VAE",
        summary=f"Written by `python -m da_vae eval` (run `{cfg.run.name}`): {data_line}; every model trained "
                f"{steps} steps of batch {cfg.data.batch_size}"
                + "".join(f", the {task} source VAEs {n} (`task.source_steps`)"
                          for task, n in cfg.task.source_steps.items() if task in results and n) + ". Wall time: "
                + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items()) + "; CPU time (user + system, this "
                "process and its `eval.workers` workers): "
                + ", ".join(f"{k} {v:.0f} s" for k, v in results.get("cpu_seconds", {}).items()) + ".",
        sections=sections, headline=headline, examples=examples,
        claims=[Claim(claim, bool(ok), numbers)
                for claim, ok, numbers in orderings(results, cfg.eval.figure4_tolerance)],
        notes=notes(cfg, results), seconds=sum(seconds.values()),
        results={"config": OmegaConf.to_container(cfg), "seconds": seconds,
                 "paper": {"table2": PAPER_TABLE2, "table3": PAPER_TABLE3}, **results,
                 **({"new_inputs": new_inputs_entry} if new_inputs_entry else {})})


def evaluate(cfg: DictConfig) -> Path:
    """Run the experiments of ``eval.tasks`` and write the report; returns the README path."""
    unknown = [t for t in cfg.eval.tasks if t not in TASKS]
    if unknown:
        raise InputError(f"eval.tasks: unknown task(s) {unknown}; use some of {list(TASKS)}")
    eval_training_logs(cfg)
    out = Path(cfg.eval.out)
    out.mkdir(parents=True, exist_ok=True)
    run = {"midi": experiments.audio_to_midi, "singing": experiments.singing_alignment,
           "separation": experiments.separation}
    results, seconds, cpu, examples = {}, {}, {}, []
    for task in cfg.eval.tasks:
        started, cpu_started = time.perf_counter(), experiments.cpu_seconds()
        results[task] = run[task](cfg, examples) if task == "separation" else run[task](cfg)
        seconds[task], cpu[task] = time.perf_counter() - started, experiments.cpu_seconds() - cpu_started
        log.info("eval %s done in %.0f s (%.0f CPU-s)", task, seconds[task], cpu[task])
    if "midi" in cfg.eval.tasks and cfg.eval.new_inputs_pieces:
        started, cpu_started = time.perf_counter(), experiments.cpu_seconds()
        results["new_inputs"] = new_inputs.measure(cfg)
        seconds["new inputs"] = time.perf_counter() - started
        cpu["new inputs"] = experiments.cpu_seconds() - cpu_started
    results["cpu_seconds"] = cpu
    if "singing" in results:
        figure4(results["singing"], out / "figure4.png")
    return write_report(build_report(cfg, results, seconds, examples), out)
