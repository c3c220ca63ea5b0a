"""Table 3, singing voice separation: train every DAE, score every validation clip, and the statistics.

Models, each a run of its own (``da_vae.training``): per seed of ``eval.seeds`` one source VAE, and on it,
for each DAE output of ``eval.separation_outputs`` (``magnitude``: the paper's; ``mask``), the four models
of the paper, DAE (alpha 0, random init), DAE + wt (alpha 0, init from the VAE), rDAE (alpha =
``task.alpha``), rDAE + wt; and the alpha sweep: "+wt" with the first output at each alpha of
``eval.separation_alphas``, on the first seed. Three rounds of jobs go through
``common.parallel.worker_pool(eval.workers)``: the VAEs, the DAEs, and the scoring (the validation clips in
``eval.workers`` chunks, each job scoring every model on its clips).

Every clip's voice is scored with bss_eval v3 (``common.metrics.SourceScorer``, both sources as references);
NSDR = SDR(voice estimate) - SDR(mixture). Table cells are means over clips of each clip's mean over seeds,
with 95% bootstrap intervals over clips (``common.report.mean_ci``); each ordering of the paper is decided
on the paired per-clip differences (``paired_diff``): it holds when the interval lies above 0.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from common.errors import InputError
from common.metrics import SourceScorer
from common.parallel import worker_pool
from common.report import Clip, Example, Table, mean_ci, paired_diff
from common.report.stats import detectable_effect, format_ci
from da_vae import catalog, data, inference, training

log = logging.getLogger(__name__)

VARIANTS = {"DAE": (False, False), "DAE + wt": (True, False), "rDAE": (False, True), "rDAE + wt": (True, True)}
# Luo & Su (2018), Table 3 (MIR-1K, 22 validation songs), dB
PAPER_TABLE3 = {
    "DAE": {"SDR": 4.73, "SIR": 16.13, "SAR": 5.35, "NSDR": 3.16},
    "DAE + wt": {"SDR": 6.50, "SIR": 20.40, "SAR": 6.85, "NSDR": 4.93},
    "rDAE": {"SDR": 4.97, "SIR": 14.96, "SAR": 5.74, "NSDR": 3.40},
    "rDAE + wt": {"SDR": 7.20, "SIR": 18.98, "SAR": 7.74, "NSDR": 5.63},
}
METRICS = ("SDR", "SIR", "SAR", "NSDR", "energy")  # energy: voice estimate / true voice (near 0: silent output)
ORDERINGS = {  # the paper's claims, as (better, worse) pairs that must all hold
    "rDAE + wt has the best SDR": [("rDAE + wt", "DAE"), ("rDAE + wt", "DAE + wt"), ("rDAE + wt", "rDAE")],
    "DAE + wt > DAE in SDR": [("DAE + wt", "DAE")],
    "rDAE > DAE in SDR": [("rDAE", "DAE")],
}


def model_key(seed: int, output: str, init: bool, alpha: float) -> str:
    return f"seed {seed}|{output}|{'wt' if init else 'random'}|alpha {alpha:g}"


def table_models(seed: int, output: str, alpha: float) -> dict[str, str]:
    """The four Table 3 models of one seed and output: ``{name: model_key}`` (rDAE with ``alpha``)."""
    return {name: model_key(seed, output, init, alpha if reg else 0.0) for name, (init, reg) in VARIANTS.items()}


def _job_config(container: dict, seed: int, steps: int) -> DictConfig:
    cfg = OmegaConf.create(container)
    cfg.task.name, cfg.ckpt_path, cfg.task.source_ckpt = "separation", "last", None
    cfg.run.seed, cfg.trainer.max_steps = seed, steps
    return cfg


def _train_source(container: dict, seed: int, steps: int) -> str:
    """Job: the source VAE of ``seed`` -> its last.ckpt."""
    return str(training.train_stage(_job_config(container, seed, steps), "source"))


def _train_dae(container: dict, seed: int, steps: int, output: str, init: bool, alpha: float) -> str:
    """Job: one DAE on the VAE of ``seed`` -> its last.ckpt."""
    cfg = _job_config(container, seed, steps)
    cfg.task.dae_output, cfg.task.init_from_source, cfg.task.alpha = output, init, alpha
    return str(training.train_stage(cfg, "target"))


@torch.no_grad()
def _score_clips(clips: list[tuple[str, str, bool]], checkpoints: dict[str, str], sample_rate: int, hop_frames: int,
                 keep: list[str]) -> list[dict]:
    """Job: every model on each ``(name, path, is an example)`` clip -> per clip ``{"name", "scores": {key:
    {metric: value}}, "audio": {key: voice estimate} for the keys in ``keep`` if it is an example clip}``,
    or ``{"name", "skipped": reason}`` for a clip bss_eval cannot score."""
    models = {key: inference.load_target(path, "separation") for key, path in checkpoints.items()}
    out = []
    for name, path, example in clips:
        voice, accompaniment = catalog.load_karaoke(path, sample_rate)
        mixture = voice + accompaniment
        try:
            scorer = SourceScorer(np.stack([voice, accompaniment]), source=0)
        except ValueError as err:  # bss_eval is undefined for a silent source
            out.append({"name": name, "skipped": str(err)})
            continue
        mixture_sdr = scorer(mixture)["SDR"]
        row = {"name": name, "scores": {}, "audio": {}}
        for key, module in models.items():
            estimate = inference.separate_voice(module, mixture, hop_frames)
            scores = scorer(estimate)
            row["scores"][key] = scores | {"NSDR": scores["SDR"] - mixture_sdr,
                                           "energy": float(np.sum(estimate**2) / np.sum(voice**2))}
            if example and key in keep:
                row["audio"][key] = estimate
        if example:
            row["audio"] |= {"mixture": mixture, "voice": voice}
        out.append(row)
    return out


def run(cfg: DictConfig, items: list[catalog.Item], examples: list[Example] | None = None) -> dict:
    """Train and score every Table 3 model on ``items`` (the validation clips) -> JSON-ready results (see
    :func:`summarise`); the first ``eval.examples`` clips are appended to ``examples`` (mixture, each Table 3
    model of the first seed, voice)."""
    seeds, outputs, alphas = list(cfg.eval.seeds), list(cfg.eval.separation_outputs), list(cfg.eval.separation_alphas)
    if not seeds:
        raise InputError("eval.seeds is empty; give at least one training seed, e.g. [0]")
    unknown = [o for o in outputs if o not in ("magnitude", "mask")]
    if not outputs or unknown:
        raise InputError(f"eval.separation_outputs={outputs}: use one or both of magnitude, mask")
    steps = cfg.eval.separation_steps or cfg.trainer.max_steps
    jobs = {model_key(s, o, init, cfg.task.alpha if reg else 0.0): (s, o, init, cfg.task.alpha if reg else 0.0)
            for s in seeds for o in outputs for init, reg in VARIANTS.values()}
    first = {o: table_models(seeds[0], o, cfg.task.alpha) for o in outputs}  # their voices are the examples
    jobs |= {model_key(seeds[0], outputs[0], True, a): (seeds[0], outputs[0], True, a) for a in alphas}
    data.prepare(cfg, "separation")  # the feature cache exists before the workers start
    container = OmegaConf.to_container(cfg, resolve=True)
    workers = max(1, cfg.eval.workers)
    with worker_pool(cfg.eval.workers, cfg.log_level) as run_jobs:
        list(run_jobs(_train_source, [container] * len(seeds), seeds, [steps] * len(seeds)))
        args = list(zip(*jobs.values()))
        checkpoints = dict(zip(jobs, run_jobs(_train_dae, [container] * len(jobs), args[0], [steps] * len(jobs),
                                              *args[1:])))
        clips = [(item.name, item.audio, i < cfg.eval.examples) for i, item in enumerate(items)]
        chunks = [clips[i::workers] for i in range(workers)]
        keep = [key for named in first.values() for key in named.values()]
        rows = [row for chunk in run_jobs(_score_clips, chunks, [checkpoints] * workers,
                                          [cfg.data.sample_rate] * workers, [cfg.eval.separation_hop_frames] * workers,
                                          [keep] * workers) for row in chunk]
    order = {item.name: i for i, item in enumerate(items)}
    rows.sort(key=lambda row: order[row["name"]])
    skipped = [f"{row['name']}: {row['skipped']}" for row in rows if "skipped" in row]
    rows = [row for row in rows if "skipped" not in row]
    if skipped:
        log.warning("table 3: skipped %d clip(s) with a silent source, e.g. %s", len(skipped), skipped[0])
    if not rows:
        raise InputError("table 3: every validation clip has a silent source; check the MIR-1K files")
    if examples is not None:
        examples += [example(row, first, seeds[0], cfg.data.sample_rate) for row in rows if row["audio"]]
    per_clip = {key: {m: [row["scores"][key][m] for row in rows] for m in METRICS} for key in jobs}
    return summarise(per_clip, seeds, outputs, alphas, cfg.task.alpha) | {
        "clips": [row["name"] for row in rows], "skipped": skipped, "steps": steps,
        "segment_size": cfg.data.segment_frames * (cfg.data.n_fft // 2 + 1), "voice_loss": cfg.task.voice_loss}


def example(row: dict, first: dict[str, dict[str, str]], seed: int, sample_rate: int) -> Example:
    """The audio example of a scored clip (a row of :func:`_score_clips` with its audio): the mixture, the voice
    estimate of each model ``first`` names ({output: {Table 3 name: model key}}, trained with ``seed``) and the
    true voice."""
    audio = row["audio"]
    estimates = [Clip(f"{name}, {o}", audio[key], sample_rate, f"voice estimate, seed {seed}")
                 for o, named in first.items() for name, key in named.items()]
    return Example(row["name"], [Clip("mixture", audio["mixture"], sample_rate, "input"), *estimates,
                                 Clip("voice", audio["voice"], sample_rate, "target: the true voice")])


def summarise(per_clip: dict, seeds: list[int], outputs: list[str], alphas: list[float], alpha: float) -> dict:
    """Per-clip scores ``{model_key: {metric: [per clip]}}`` -> ``tables`` ({output: {model: {metric: (mean,
    low, high)}}}, clip values averaged over seeds), ``per_seed`` SDR means, ``orderings`` ({output: {claim:
    [(better, worse, mean diff, low, high, n, seeds where it holds, detectable effect)]}}), ``sweep`` ({alpha:
    {metric: (mean, low, high)}}) and ``per_clip`` itself."""

    def clip_values(output, name, metric, which=seeds):
        return np.mean([per_clip[table_models(s, output, alpha)[name]][metric] for s in which], axis=0)

    tables, per_seed, orderings = {}, {}, {}
    for o in outputs:
        tables[o] = {name: {m: mean_ci(clip_values(o, name, m)) for m in METRICS} for name in VARIANTS}
        per_seed[o] = {name: [float(np.mean(clip_values(o, name, "SDR", [s]))) for s in seeds] for name in VARIANTS}
        orderings[o] = {
            claim: [(better, worse, *paired_diff(clip_values(o, better, "SDR"), clip_values(o, worse, "SDR")),
                     sum(per_seed[o][better][k] > per_seed[o][worse][k] for k in range(len(seeds))),
                     detectable_effect(clip_values(o, better, "SDR") - clip_values(o, worse, "SDR")))
                    for better, worse in pairs]
            for claim, pairs in ORDERINGS.items()}
    sweep = {f"{a:g}": {m: mean_ci(per_clip[model_key(seeds[0], outputs[0], True, a)][m]) for m in METRICS}
             for a in alphas}
    return {"tables": tables, "per_seed": per_seed, "orderings": orderings, "sweep": sweep, "seeds": seeds,
            "outputs": outputs, "alpha": alpha, "per_clip": per_clip}


OUTPUT_NAMES = {"magnitude": "the paper's DAE: decodes the voice's log(1 + |STFT|), like the VAE",
                "mask": "soft-mask DAE: decodes mask logits on the mixture magnitude"}


def tables(result: dict) -> list[Table]:
    """One Table 3 per DAE output: mean [95% interval] over clips beside the paper's, SDR of each seed."""
    out = []
    for o in result["outputs"]:
        rows = []
        for name in VARIANTS:
            cells = result["tables"][o][name]
            row = [name]
            for m in ("SDR", "SIR", "SAR", "NSDR"):
                row += [format_ci(*cells[m]) if m in ("SDR", "NSDR") else cells[m][0], PAPER_TABLE3[name][m]]
            rows.append([*row, cells["energy"][0], ", ".join(f"{v:.2f}" for v in result["per_seed"][o][name])])
        columns = ["model", *(f"{m}, {who}" for m in ("SDR", "SIR", "SAR", "NSDR") for who in ("ours", "paper")),
                   "voice energy, estimate / true", "SDR of each seed"]
        out.append(Table(columns, rows, caption=f"`{o}` ({OUTPUT_NAMES[o]}): voice scores in dB, mean over "
                         f"{len(result['clips'])} validation clips of the mean over seeds {result['seeds']}, "
                         "[95% bootstrap interval over clips]"))
    return out


def sweep_table(result: dict) -> Table:
    """The alpha sweep of "+wt" with the first output, first seed."""
    size = result["segment_size"]
    rows = [[a, f"{float(a) * size:.3g}", format_ci(*cells["SDR"]), format_ci(*cells["NSDR"]), cells["energy"][0]]
            for a, cells in result["sweep"].items()]
    return Table(["alpha (loss averaged over bins)", "alpha (loss summed over the segment)", "SDR", "NSDR",
                  "voice energy"], rows,
                 caption=f"`{result['outputs'][0]}` DAE + wt for each alpha, seed {result['seeds'][0]}, "
                         f"{len(result['clips'])} validation clips, dB [95% bootstrap interval over clips]")


def claims(result: dict) -> list[tuple[str, bool, str]]:
    """The paper's Table 3 orderings per DAE output: ``(claim, holds, evidence)``; a claim holds when every
    paired per-clip SDR difference it needs has its 95% interval above 0."""
    out = []
    for o in result["outputs"]:
        for claim, pairs in result["orderings"][o].items():
            evidence = "; ".join(f"{better} - {worse} {format_ci(mean, low, high)} dB over {n} clips (higher in "
                                 f"{seeds} of {len(result['seeds'])} seeds; detectable: {effect:.2f} dB)"
                                 for better, worse, mean, low, high, n, seeds, effect in pairs)
            below = sorted({better for better, *_ in pairs if result["tables"][o][better]["NSDR"][2] < 0})
            if below:
                evidence += f"; but {', '.join(below)} is worse than the mixture itself (NSDR interval below 0)"
            out.append((f"Table 3, `{o}` DAE: {claim}", all(p[3] > 0 for p in pairs), evidence))
    return out


def text(result: dict) -> str:
    """The paragraph above the Table 3 tables."""
    size = result["segment_size"]
    lines = [f"Every model trained {result['steps']} steps; {len(result['clips'])} validation clips, "
             f"{len(result['seeds'])} training seeds (`eval.seeds`); rDAE uses alpha = {result['alpha']:g} "
             "(`task.alpha`). The voice estimates of the clips (`eval.examples`) are below.",
             f"alpha and the loss reduction: our DAE loss ({result['voice_loss']}) is the mean over the {size} "
             "bins of a segment. The paper calls its loss an l1-norm, i.e. a sum over the segment; with a sum, "
             f"alpha = 1 is our alpha = 1/{size} = {1 / size:.1e}: the regulariser all but vanishes. The sweep "
             "below covers both readings."]
    quiet = [f"{name} (`{o}`)" for o in result["outputs"] for name, cells in result["tables"][o].items()
             if cells["energy"][0] < 0.1]
    if quiet:
        lines.append(f"{', '.join(quiet)}: the voice estimate carries under a tenth of the true voice's energy "
                     "(near-silent output).")
    return "\n\n".join(lines)
