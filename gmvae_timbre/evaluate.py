"""``python -m gmvae_timbre eval``: trains what is missing. For every run (seed x thread setting of ``eval.seeds``
and ``eval.threads``) the default M_GMVAE (every instrument label; the verbs' models); for every seed, under the
first thread setting, the label-fraction grid (M_VAE and M_GMVAE at every N, with ``eval.grid`` overrides) and its
CNN baselines, those trained with every label being the judges of the seed's runs: the thread settings are there to
show the verbs' models work on another machine, and Table 1's intervals are over the seeds.
It writes On new inputs, the judges and the reconstruction ceiling, Table 1, Figures 2-3, the timbre transfer
and audio examples to ``eval.out`` through ``common.report``."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from common.corpora.sol import INSTRUMENTS
from common.lightning.config import eval_training_logs
from common.parallel import map_by_threads, worker_pool
from common.report import Figure, Headline, Report, Section, Table, write_report
from common.report.targets import Target, new_inputs_section
from common.threads import intra_op_threads
from gmvae_timbre import data, experiments, figures, judging, newinputs, training, transfer_report
from gmvae_timbre.table1 import KINDS, PAPER_TABLE1, table1

log = logging.getLogger(__name__)

TARGETS = [
    Target("synth pitch", ">=", 0.95, "synth: pitch within 50 cents (pYIN), every (instrument, pitch) of the "
                                      "trained ranges"),
    Target("synth instrument", ">=", 0.75, "synth: the asked instrument is the instrument judge's answer"),
    Target("transfer pitch kept", ">=", 0.90, "transfer of held-out notes: pitch within 50 cents (pYIN)"),
    Target("p(target) > p(source)", ">=", 0.75, "transfer of held-out notes: the judge prefers the target"),
]
PROGRAMS = {abbr: program for _, _, abbr, _, program, *_ in INSTRUMENTS}  # GM program of each instrument


def eval_cfg(cfg: DictConfig) -> DictConfig:
    """The models eval trains need only their final weights: no resuming, no validation passes and no best
    checkpoint (``common.lightning.config.eval_training_logs`` turns off their examples); ``train`` keeps all."""
    out = cfg.copy()
    out.ckpt_path = None
    out.trainer.limit_val_batches = 0.0
    out.trainer.num_sanity_val_steps = 0
    out.trainer.monitor = None
    return out


def grid_cfg(cfg: DictConfig) -> DictConfig:
    """The config of the label-fraction grid and the CNNs: ``eval.grid`` overrides, runs under ``<run.name>-grid``."""
    out = OmegaConf.merge(cfg, OmegaConf.from_dotlist(list(cfg.eval.grid)))
    out.run.name = f"{cfg.run.name}-grid"
    return out


def runs_of(cfg: DictConfig) -> list[tuple[int, int]]:
    return sorted((seed, threads) for seed in cfg.eval.seeds for threads in cfg.eval.threads)


def grid_runs(cfg: DictConfig) -> list[tuple[int, int]]:
    """The runs the grid trains in: every seed under the first thread setting."""
    return [(seed, cfg.eval.threads[0]) for seed in sorted(cfg.eval.seeds)]


def jobs(cfg: DictConfig) -> list[tuple]:
    """Every model of the evaluation as ``(what, N, seed, threads)``, the slowest first: the default M_GMVAE
    (``"default"``) of every run; of :func:`grid_runs`, the grid (``"vae"``/``"gmvae"`` at every N), the instrument
    CNNs at every N > 0 and the pitch CNN, the last two at N = 100 being the judges of every run of their seed
    (:func:`judging.judge_run`)."""
    e, runs, grid = cfg.eval, runs_of(cfg), grid_runs(cfg)
    return ([("default", 100, s, t) for s, t in runs]
            + [(kind, n, s, t) for s, t in grid for n in e.label_fractions for kind in KINDS]
            + [("cnn-instrument", n, s, t) for s, t in grid for n in sorted(e.label_fractions) if 0 < n < 100]
            + [("cnn-instrument", 100, s, t) for s, t in grid]
            + [("cnn-pitch", 100, s, t) for s, t in grid])


def train_job(container: dict, job: tuple) -> str:
    """Train (or reuse) one model of :func:`jobs` on ``threads`` torch threads; returns its last.ckpt."""
    what, n, seed, threads = job
    cfg = OmegaConf.create(container)
    cfg.threads = threads
    with intra_op_threads(threads):
        if what == "default":
            return str(training.train_model(cfg, "gmvae", 100, seed, data.load_notes(cfg, 100)))
        grid = grid_cfg(cfg)
        notes = data.load_notes(grid, n)
        if what in KINDS:
            return str(training.train_model(grid, what, n, seed, notes))
        e = grid.eval
        return str(training.train_classifier(grid, what.removeprefix("cnn-"), n, seed, e.cnn_max_steps, notes,
                                             e.cnn_patience, e.cnn_val_every))


def train_all(cfg: DictConfig) -> dict:
    """Every model of :func:`jobs` -> {job: (module in eval mode, last.ckpt)}. One-thread models train in
    ``eval.workers`` processes; models of more threads after them, side by side
    (``common.parallel.map_by_threads``)."""
    data.prepare(cfg)  # the feature caches exist before the workers start
    data.prepare(grid_cfg(cfg))
    container, todo = OmegaConf.to_container(cfg, resolve=True), jobs(cfg)
    with worker_pool(cfg.eval.workers, cfg.log_level) as run:
        paths = dict(zip(todo, map_by_threads(run, train_job, [(container, j) for j in todo], [j[3] for j in todo],
                                                   cfg.eval.workers, cfg.log_level)))
    return {job: (training.load_classifier(path) if job[0].startswith("cnn") else training.load_model(path), path)
            for job, path in paths.items()}


JUDGED = ("default", "cnn-instrument", "cnn-pitch")  # the models of a run that its scores need


def run_scores(container: dict, paths: tuple[str, str, str], heldout: tuple) -> tuple[dict, dict]:
    """Job: the On new inputs row and the judges' row of one run, from the checkpoints of its models ``JUDGED``.
    Torch's random draws (the posterior samples that infer a source) are seeded here, so they do not depend on
    the process or on what it ran before."""
    cfg = OmegaConf.create(container)
    torch.manual_seed(cfg.eval.heldout_seed)
    default, instrument, pitch = training.load_model(paths[0]), *map(training.load_classifier, paths[1:])
    return (newinputs.run_row(default, instrument, heldout, cfg),
            judging.run_row(default, instrument, pitch, data.load_notes(cfg, 100), heldout, paths[1:],
                            cfg.eval.griffinlim_iters))


def score_runs(cfg: DictConfig, trained: dict, runs: list) -> tuple[tuple, list[dict], dict]:
    """Held-out notes -> (those notes, On new inputs rows, {(seed, threads): judges' row}): every run scored in
    ``eval.workers`` processes."""
    e = cfg.eval
    heldout = newinputs.heldout_notes(trained[("default", 100, *runs[0])][0], PROGRAMS, e.heldout_seed,
                                      e.heldout_notes)
    paths = [(trained[("default", 100, *run)][1],
              *(trained[(kind, 100, *judging.judge_run(run, e.threads))][1] for kind in JUDGED[1:]))
             for run in runs]
    with worker_pool(min(e.workers, len(runs)), cfg.log_level) as run:
        scored = list(run(run_scores, [OmegaConf.to_container(cfg, resolve=True)] * len(runs), paths,
                          [heldout] * len(runs)))
    rows = [{"seed": s, "threads": t, **row} for (s, t), (row, _) in zip(runs, scored)]
    return heldout, rows, {run: judged for run, (_, judged) in zip(runs, scored)}


def new_inputs(cfg: DictConfig, rows: list[dict]) -> tuple[Section, dict]:
    e = cfg.eval
    code = ("the pitch code snapped to the mean of the class the model reads, eval.snap_pitch" if e.snap_pitch
            else "the note's own pitch code")
    section, results = new_inputs_section(rows, ["seed", "threads", "synth pairs", "transfers"], TARGETS, (
        f"The default M_GMVAE of every run (seed, threads) on what no corpus holds. **synth**: every (instrument, "
        f"pitch) pair of the instruments' trained ranges, every semitone (w = 0), rendered to audio. **transfer**: "
        f"{e.heldout_notes} single notes per instrument at pitches drawn from seed {e.heldout_seed} inside its "
        "trained range, rendered by FluidSynth with MuseScore General (a soundfont no corpus uses), each moved to "
        f"{e.heldout_targets} other instruments whose range holds the pitch, as the verb does it (source inferred, "
        f"alpha 1, {code}). Pitch: pYIN (`common.pitch`) searching the asked pitch +- 13 semitones; kept when at "
        "least half the frames are voiced and their median is within 50 cents. Instrument: the seed's instrument "
        "judge (the CNN trained with every label, under the first thread setting) on the output audio analysed "
        "again. 'transfer success' needs both; 'source inferred' is how often the inferred source is the note's "
        "instrument. Fractions in [0, 1]."),
        digits=3)
    return section, results


def synthesis_section(cfg: DictConfig, notes: data.SolNotes, models: dict, runs: list, out: Path):
    """Figure 3 on the grid's M_GMVAE at every N > 0, judged by each run's CNNs; its claim per run."""
    e = cfg.eval
    supervised = [n for n in e.label_fractions if n > 0]
    per_run = {}
    for n in supervised:
        for w in e.synthesis_weights:
            per_run[f"{n}|{w:g}"] = [experiments.synthesis_scores(
                models[("gmvae", n, s, t)], notes, models[("cnn-instrument", 100, s, t)],
                models[("cnn-pitch", 100, s, t)], w, e.synthesis_draws, s) for s, t in runs]
    synthesis = {k: {t: float(np.mean([r[t] for r in v])) for t in ("instrument", "pitch")}
                 for k, v in per_run.items()}
    figures.synthesis(out / "figure3_synthesis.png", synthesis, supervised, list(e.synthesis_weights))
    low, high = min(e.synthesis_weights), max(e.synthesis_weights)
    drops = np.array([[a["instrument"] - b["instrument"] for a, b in zip(per_run[f"{n}|{low:g}"],
                                                                         per_run[f"{n}|{high:g}"])]
                      for n in supervised])
    claim = experiments.degrades_claim(drops, low, high)
    section = Section(title="Figure 3: controllable synthesis", text=(
        f"z_t ~ N(mu_k, w I), z_p ~ N(mu_m, w e^-4 I) for every validation note's instrument k and pitch m, "
        f"{e.synthesis_draws} draws each, decoded by the grid's M_GMVAE and classified by the run's CNNs (trained "
        "with all labels) on the decoded mels; macro F1, mean over the runs. The paper gives this figure only as "
        "a plot (no numbers in the text)."),
        tables=[Table(columns=["N %", "w", "instrument F1", "pitch F1"],
                      rows=[[n, w, synthesis[f"{n}|{w:g}"]["instrument"], synthesis[f"{n}|{w:g}"]["pitch"]]
                            for n in supervised for w in e.synthesis_weights], digits=3)],
        figures=[Figure("figure3_synthesis.png", "F-scores of synthesized notes")])
    return section, synthesis, claim


def evaluate(cfg: DictConfig) -> Path:
    eval_training_logs(cfg)
    started = time.perf_counter()
    cfg = eval_cfg(cfg)
    e, runs, grid_run = cfg.eval, runs_of(cfg), grid_runs(cfg)
    out = Path(e.out)
    out.mkdir(parents=True, exist_ok=True)
    trained = train_all(cfg)
    models = {job: module for job, (module, _) in trained.items()}
    notes, grid_notes = data.load_notes(cfg, 100), data.load_notes(grid_cfg(cfg), 100)
    heldout, rows, judged = score_runs(cfg, trained, runs)
    inputs, inputs_results = new_inputs(cfg, rows)
    judges = judging.section(judged, int(notes.val.sum()), len(heldout[0]))
    codes = {key: experiments.latents(m, grid_notes.x) for key, m in models.items() if key[0] in KINDS}
    seed, threads = grid_run[0]
    keys = sorted(k for k in codes if k[2:] == (seed, threads))
    with worker_pool(e.workers, cfg.log_level) as run:
        means = [models[k].model.timbre_prior.means.detach().numpy() if k[0] == "gmvae" else None for k in keys]
        embedded = run(experiments.timbre_tsne, [codes[k]["z_t"] for k in keys], means)
        table, table_scores, claims = table1(cfg, grid_notes, models, codes, grid_run)  # while the workers embed
        embeddings = {k[:2]: v for k, v in zip(keys, embedded)}
    figures.timbre_space(out / "figure2_tsne.png", embeddings, grid_notes)
    fig2 = Section(title="Figure 2: t-SNE of the timbre space", text=(
        f"Posterior means z_t of all {len(grid_notes.paths)} notes (grid models, seed {seed}, threads {threads}), "
        "coloured by instrument; crosses: the M_GMVAE mixture means embedded with them. Top row M_VAE, bottom row "
        "M_GMVAE, N left to right."), figures=[Figure("figure2_tsne.png", "timbre space, M_VAE (top) and M_GMVAE "
                                                                           "(bottom)")])
    fig3, synthesis, synthesis_claim = synthesis_section(cfg, grid_notes, models, grid_run, out)
    transfer, transfer_results, transfer_claim = transfer_report.section(cfg, notes, models, runs, out)
    claims += [synthesis_claim, transfer_claim]
    examples = transfer_report.audio_examples(cfg, notes, models[("default", 100, *runs[0])])
    headline = [Headline(name=f"inst F1, M_GMVAE z_t, N={n}", ours=table_scores[f"instrument|gmvae z_t|{n}"][0],
                         paper=PAPER_TABLE1[n][0][3], digits=3) for n in (0, 100) if n in e.label_fractions]
    headline += [Headline(name=t.measure, ours=min(r[t.measure] for r in inputs_results["rows"]), paper=None,
                          digits=3) for t in TARGETS]
    report = Report(
        package="gmvae_timbre",
        title="gmvae_timbre: Luo, Agres & Herremans (ISMIR 2019), disentangled timbre and pitch with a GMVAE",
        summary=summary(cfg, notes, runs, trained), sections=[inputs, judges, table, fig2, fig3, transfer],
        claims=claims,
        headline=headline, examples=examples, notes=differences(cfg), seconds=time.perf_counter() - started,
        results={"new_inputs": inputs_results, "judges": {f"{s}|{t}": r for (s, t), r in judged.items()},
                 "table1": table_scores, "synthesis": synthesis, "transfer": transfer_results,
                 "config": OmegaConf.to_container(cfg, resolve=True), "data": data.describe(notes)})
    return write_report(report, out)


def cnn_training(e: DictConfig, trained: dict) -> str:
    """How the CNN baselines and judges of ``trained`` were trained, and when they stopped."""
    ends = [training.stopped_at(Path(path).parent / "last.ckpt") for job, (_, path) in trained.items()
            if job[0].startswith("cnn")]
    steps = [step for step, _ in ends]
    if e.cnn_patience <= 0:
        return f"CNN baselines and judges {e.cnn_max_steps} steps"
    return (f"CNN baselines and judges trained until their validation loss had not fallen for {e.cnn_patience} "
            f"checks of every {e.cnn_val_every} steps, at most {e.cnn_max_steps} steps: "
            f"{sum(stopped for _, stopped in ends)} of {len(ends)} stopped so, after {min(steps)}-{max(steps)} "
            "steps, and each is used at its lowest validation loss")


def summary(cfg: DictConfig, notes: data.SolNotes, runs: list, trained: dict) -> str:
    e, grid = cfg.eval, grid_cfg(cfg)
    return (f"{len(notes.paths)} notes of {len(notes.instruments)} instruments and {len(notes.pitches)} pitches (SOL "
            f"at {data.sol_root(cfg)}), 90/10 split by instrument; runs (seed, threads) {runs}. Default M_GMVAE "
            f"(N = 100): {cfg.trainer.max_steps} steps, {cfg.model.channels} channels / {cfg.model.hidden} units. "
            f"Grid (M_VAE and M_GMVAE at N = {list(e.label_fractions)} %; runs {grid_runs(cfg)}, the thread "
            f"settings being for the default model): {grid.trainer.max_steps} steps, "
            f"{grid.model.channels} channels / {grid.model.hidden} units; {cnn_training(e, trained)}. Adam lr "
            f"{cfg.optim.lr:g}, batch {cfg.data.batch_size}.")


def differences(cfg: DictConfig) -> str:
    d = cfg.data
    return "\n".join([
        "- Data: a synthetic stand-in for SOL by default (General MIDI soundfont notes in the TinySOL layout, "
        "12 instruments, every semitone of each instrument's range, 3 dynamics); the paper used 1,885 SOL "
        "recordings with M = 82 pitches." if d.synthetic else "- Data: the SOL folder at data.root.",
        f"- Features: {d.n_mels} mel bands, hop {d.hop_length} ({d.frames} frames of the first {d.seconds:g} s), "
        f"magnitudes floored at {d.log_floor:g} (paper: 256 bands, hop 256, 43 frames; no floor given).",
        f"- Networks: {cfg.model.channels} conv channels and {cfg.model.hidden} FC units (paper: 512 / 512); batch "
        f"{d.batch_size}, Adam lr {cfg.optim.lr:g} (paper: batch 128, lr 1e-4, steps not given)"
        + (f", the class means of the priors at lr {cfg.optim.prior_lr:g}." if cfg.optim.prior_lr is not None
           else "."),
        f"- Instrument cross-entropy weight {cfg.model.label_weight:g} (the paper gives no weight); q(y_t|X) "
        f"estimated with {cfg.model.qy_samples} sample(s) of z_t; reconstruction term: summed squared error.",
        (f"- A linear pitch classifier on z_p with cross-entropy weight {cfg.model.pitch_weight:g}, in both models: "
         "not in the paper; the authors' released configuration has it (weight 1)." if cfg.model.pitch_weight > 0
         else "- No pitch classifier on z_p (the paper's loss; the authors' released configuration adds one)."),
        "- Intervals: over the runs with Student-t (Table 1 and Figure 3: the grid's seeds; transfer: every seed x "
        "thread setting); verdicts use paired differences on the same validation notes (bootstrap over the notes) "
        "and require every run's own difference to agree.",
        "- F-scores are macro-averaged F1 over the classes present in the validation notes (the paper does not "
        "say which average it used). Audio is rendered from the mel output by pseudo-inverse mel inversion and "
        "Griffin-Lim, not a neural vocoder.",
    ])

