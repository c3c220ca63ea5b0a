"""``python -m realtime_ae eval``: the paper's Tables I-V (held-out MSE, training time, mesh chroma accuracy)
over ``eval.seeds``, the paper's numbers beside ours, its orderings decided on paired differences, latent
embedding figures, audio examples and the synth window, written through ``common.report`` to ``eval.out``."""

from __future__ import annotations

import datetime
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig

from common.errors import InputError
from common.lightning.config import eval_training_logs
from common.report import Figure, Headline, Report, Section, Table, write_report
from common.report.writer import machine
from realtime_ae import experiments, figures, labels, newinputs
from realtime_ae.claims import claims, power_summary, seed_interval
from realtime_ae.config import ModelConfig
from realtime_ae.experiments import SYNTH, Spec
from realtime_ae.module import load_model

log = logging.getLogger(__name__)

SCALE = 1e4  # MSE shown in units of 1e-4, as the paper's tables
NOTES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
# Colonel & Keene (2020): test MSE x 1e-4 and training minutes (None: not given)
PAPER_MSE = {
    "I": {"none": (3.185, 35), "diff": (3.001, 44), "chroma": (2.920, 37)},
    "II": {("lrelu", False): (3.516, 8), ("lrelu", True): (3.598, 8), ("sigmoid", False): (3.358, 8),
           ("sigmoid", True): (3.472, 8)},
    "III": {("lrelu", False): (7.731, 41), ("lrelu", True): (6.478, 58), ("sigmoid", False): (8.900, 43),
            ("sigmoid", True): (6.388, 43)},
    "IV": {("one_octave", False): (3.228, 8), ("one_octave", True): (3.055, 8), ("violin", False): (8.545, 44),
           ("violin", True): (5.763, 45)},
}
C_MAJOR = (0, 2, 4, 5, 7, 9, 11)  # the one-octave corpus's classes: the paper reports only these
PAPER_V = {
    ("one_octave", 2): dict(zip(C_MAJOR, (.896, .941, .981, .884, .908, .863, .937))),
    ("one_octave", 3): dict(zip(C_MAJOR, (.827, .857, .847, .953, .851, .904, .933))),
    ("one_octave", 8): dict(zip(C_MAJOR, (.741, .650, .949, .526, .605, .834, .660))),
    ("violin", 2): dict(enumerate((.980, .840, .941, .902, .999, .846, .905, .864, .892, .992, .884, .984))),
    ("violin", 3): dict(enumerate((.942, .629, .999, .692, .999, .997, .659, .980, .999, .999, .885, .977))),
    ("violin", 8): dict(enumerate((.837, .833, .950, .844, .814, .805, .956, .782, .820, .844, .805, .920))),
}
TITLES = {"I": "Table I: five-octave scales, 8-unit LReLU bottleneck, input augmentation",
          "II": "Table II: one-octave scales, 2-unit bottleneck, activation x chroma skip",
          "III": "Table III: violin stand-in, 2-unit bottleneck, activation x chroma skip",
          "IV": "Table IV: 3-unit sigmoid bottleneck, chroma skip vs none",
          "V": "Table V: fraction of decoded mesh points whose chroma matches the conditioning chroma"}


def label(table: str, spec: Spec) -> str:
    if table == "I":
        return {"none": "No append", "diff": "1st-order diff", "chroma": "One-hot chroma"}[spec.augmentation]
    if table == "IV":
        return f"{spec.corpus.replace('_', ' ')}, {'skip' if spec.skip else 'no skip'}"
    return f"{'LReLU' if spec.activation == 'lrelu' else 'Sigmoid'}, {'skip' if spec.skip else 'no skip'}"


def paper_key(table: str, spec: Spec):
    return {"I": spec.augmentation, "IV": (spec.corpus, spec.skip)}.get(table, (spec.activation, spec.skip))


def mse_table(table: str, specs: list[Spec], mse: dict, seconds: dict, seeds: list[int]) -> Table:
    rows = []
    for spec in specs:
        per_seed = [float(mse[spec, k].mean()) * SCALE for k in seeds]
        mean, lo, hi = seed_interval(per_seed, bounds=(0.0, np.inf))
        paper, minutes = PAPER_MSE[table][paper_key(table, spec)]
        times = [seconds[spec, k] for k in seeds if seconds[spec, k] is not None]
        rows.append([label(table, spec), f"{mean:.2f} [{lo:.2f}, {hi:.2f}]", paper,
                     f"{np.mean(times):.0f} s" if times else None, f"{minutes} min"])
    return Table(["model", "test MSE x1e-4, ours (95% CI over seeds)", "paper", "training time, ours (CPU, 1 thread)",
                  "paper (GPU)"], rows, digits=3,
                 caption=f"held-out test-set MSE per frame, mean over {len(seeds)} training seeds; interval: Student t "
                         "over the per-seed test MSEs")


def table_v(specs: list[Spec], accuracy: dict, seeds: list[int], lengths: dict[int, int]) -> Table:
    rows = []
    for spec in specs:
        acc = np.array([accuracy[spec, k] for k in seeds])  # (seeds, 12)
        paper = PAPER_V[spec.corpus, spec.bottleneck]
        cells = [f"{acc[:, c].mean():.3f} ({paper[c]:.3f})" if c in paper else f"{acc[:, c].mean():.3f} (–)"
                 for c in range(12)]
        mean, lo, hi = seed_interval(acc[:, sorted(paper)].mean(1), bounds=(0.0, 1.0))
        every = seed_interval(acc.mean(1), bounds=(0.0, 1.0))
        rows.append([f"{spec.bottleneck}D {spec.corpus.replace('_', ' ')}", lengths[spec.bottleneck], *cells,
                     f"{mean:.3f} [{lo:.3f}, {hi:.3f}] ({np.mean(list(paper.values())):.3f})",
                     "{:.3f} [{:.3f}, {:.3f}]".format(*every)])
    return Table(["model", "mesh length", *NOTES, "mean over the paper's classes (paper)", "mean over all 12"], rows,
                 caption=f"ours (paper); mean over {len(seeds)} seeds, Student-t interval over seeds clipped to "
                         "[0, 1]. The paper's one-octave corpus had only C-major notes, and it reports those seven "
                         "classes; ours is chromatic")


def power_text(power: dict) -> str:
    if power["pooled_sd"] is None:
        return "One seed: no orderings can be decided."
    return (f"Power: over every pair of models the claims compare, the per-seed relative MSE differences have a "
            f"pooled standard deviation of {power['pooled_sd']:.1%}. With {power['seeds']} seeds a paired t-test "
            f"(two-sided, 5%) detects a true difference of {power['detectable']:.1%} with 80% power, and a 5% "
            f"difference with {power['power_at_5pct']:.0%} power; 80% power at 5% needs "
            f"{power['seeds_for_5pct']} seeds.")


def evaluate(cfg: DictConfig) -> Path:
    started = time.perf_counter()
    eval_training_logs(cfg)
    wanted = [t for t in cfg.eval.tables]
    unknown = [t for t in wanted if t not in TITLES]
    if unknown or len(cfg.eval.seeds) < 1 or len(cfg.eval.mesh) != 3 or not 0 < cfg.eval.skip_margin < 1 \
            or not cfg.eval.default_seeds or not cfg.eval.threads or min(cfg.eval.threads) < 1:
        raise InputError(f"eval.tables={wanted} / eval.seeds / eval.mesh / eval.skip_margin / eval.default_seeds / "
                         f"eval.threads: tables are among {list(TITLES)}, at least one seed, three mesh lengths "
                         "(2-D, 3-D, 8-D), a margin in (0, 1), at least one default seed and thread setting >= 1")
    specs = {t: s for t, s in experiments.table_specs().items() if t in wanted}
    unique = list(dict.fromkeys(s for group in specs.values() for s in group))
    seeds = list(cfg.eval.seeds)
    default_runs = [(SYNTH, k, t) for k in cfg.eval.default_seeds for t in cfg.eval.threads]
    trained = experiments.train_all(cfg, [(s, k, 1) for s in unique for k in seeds] + default_runs)
    ckpts = {(s, k): trained[s, k, 1] for s in unique for k in seeds}
    out = Path(cfg.eval.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, cfg.threads))

    mse, seconds, tests = {}, {}, {}
    for spec in unique:
        if spec.corpus not in tests:
            tests[spec.corpus] = experiments.split_set(cfg, spec.corpus)
        _, frames, chroma = tests[spec.corpus]
        for k in seeds:
            module = load_model(ckpts[spec, k])
            mse[spec, k] = experiments.frame_mse(module, frames, chroma)
            seconds[spec, k] = experiments.train_seconds(ckpts[spec, k])

    power = power_summary(specs, mse, seeds)
    sections, results = [], {"mse_x1e4": {}, "table_v": {}, "seeds": seeds, "power": power}
    for spec, k in mse:
        results["mse_x1e4"][f"{spec.name}|seed{k}"] = float(mse[spec, k].mean()) * SCALE
    for t in ("I", "II", "III", "IV"):
        if t in specs:
            sections.append(Section(TITLES[t], tables=[mse_table(t, specs[t], mse, seconds, seeds)]))
    figure_files = figures.embedding_figures(cfg, specs, ckpts, out)
    if figure_files:
        sections.append(Section("Figures 2-3: training-set embeddings of the 2-unit models", figures=[
            Figure(f, f"{'one octave' if 'one_octave' in f else 'violin'}: top LReLU, bottom sigmoid; left no skip, "
                      "right skip; colour = note class (seed 0)") for f in figure_files]))
    if "V" in specs:
        lengths = dict(zip((2, 3, 8), cfg.eval.mesh))
        accuracy = {(s, k): experiments.mesh_accuracy(load_model(ckpts[s, k]), lengths[s.bottleneck],
                                                      cfg.data.sample_rate) for s in specs["V"] for k in seeds}
        results["table_v"] = {f"{s.name}|seed{k}": a.tolist() for (s, k), a in accuracy.items()}
        mesh_files = figures.mesh_figures(cfg, specs["V"], ckpts, out, lengths[2])
        sections.append(Section(TITLES["V"], tables=[table_v(specs["V"], accuracy, seeds, lengths)], figures=[
            Figure(f, "2-D sigmoid + skip model (seed 0): output note class over the latent mesh for each "
                      "conditioning chroma (the panel title gives the match rate)") for f in mesh_files]))
    label_results = {name: labels.accuracy(tests[name][0], name) for name in tests if cfg.data.synthetic}
    if label_results:
        sections.append(labels.section(label_results))
        results["labels"] = label_results
    default_models = {(k, t): load_model(trained[SYNTH, k, t]) for _, k, t in default_runs}
    one_octave = experiments.split_set(cfg, SYNTH.corpus)[0]
    new_section, results["new_inputs"] = newinputs.section(default_models, one_octave, newinputs.inputs(
        cfg.data.sample_rate, list(cfg.eval.heldout_programs)), cfg.synth.volume)
    sections.insert(0, new_section)
    synth_ckpt = trained.get((SYNTH, cfg.eval.default_seeds[0], cfg.eval.threads[0]))
    models = figures.example_models(cfg, specs, ckpts, synth_ckpt)
    examples = figures.audio_examples(cfg, models, tests, synth_ckpt)
    sections += figures.synth_sections(models, out)
    report = Report(
        package="realtime_ae",
        title="realtime_ae: Colonel & Keene (2020), chroma-conditioned autoencoder latent spaces for real-time "
              "timbre synthesis",
        summary=f"Command: `python -m realtime_ae {' '.join(sys.argv[1:])}`, run on {datetime.date.today()} on "
                f"{machine()}. " + summary(cfg, unique, seeds, tests) + " " + power_text(power),
        sections=sections, claims=claims(specs, mse, seeds, cfg.eval.skip_margin),
        headline=headline(specs, mse, seeds), examples=examples,
        notes=NOTES_TEXT.replace("NETWORK_NOTE", network_note(cfg)), seconds=time.perf_counter() - started,
        results=results)
    return write_report(report, out)


def headline(specs: dict, mse: dict, seeds: list[int]) -> list[Headline]:
    out = []
    for t, index in (("II", 2), ("III", 3)):
        if t in specs:
            spec = specs[t][index]
            out.append(Headline(f"Table {t} sigmoid+{'skip' if spec.skip else 'no skip'} MSE",
                                float(np.mean([mse[spec, k].mean() for k in seeds])) * SCALE,
                                PAPER_MSE[t][paper_key(t, spec)][0], "x1e-4", digits=2))
    return out


def summary(cfg: DictConfig, specs: list[Spec], seeds: list[int], tests: dict) -> str:
    sizes = ", ".join(f"{c}: {len(p.split_rows('train'))} training / {len(f)} test frames from "
                      f"{len(p.split_clips('test'))} test clip(s)" for c, (p, f, _) in tests.items())
    models = (f"{len(specs)} autoencoders x {len(seeds)} seeds, each trained {cfg.trainer.max_epochs} epochs on one "
              f"thread (batch {cfg.data.batch_size}, Adam {cfg.optim.lr:g}, MSE + L2 {cfg.optim.l2:g})" if specs else
              "No table model (eval.tables is empty)")
    return (f"{models} on the synthetic `scales` corpus (size {cfg.data.corpus_size}); hidden widths "
            f"{list(cfg.model.hidden)}" + (f"; {sizes}" if sizes else "") + ". The "
            f"synthesizer's model ({SYNTH.name}) is trained {cfg.eval.default_epochs} epochs with a log-magnitude term "
            f"(weight {cfg.eval.default_log_weight:g}) for seeds {list(cfg.eval.default_seeds)} under torch thread "
            f"settings {list(cfg.eval.threads)}; seed {cfg.eval.default_seeds[0]} on one thread is what `render`, "
            "`resynth`, `play` and `export` use by default (`python -m realtime_ae models`). Intervals are 95% "
            f"Student-t intervals over the {len(seeds)} training seeds (the independent units; the test frames of one "
            "model are correlated in time). An ordering is decided on the paired per-seed relative differences of the "
            "test MSE (same seed on both sides): it holds when the whole interval is on the claimed side. \"The skip "
            "does not help\" (Table II) is a non-inferiority claim, decided by the one-sided t-test of a TOST over "
            f"seeds: it holds when the skip's MSE is shown not to be lower by more than eval.skip_margin = "
            f"{cfg.eval.skip_margin:.0%} of the no-skip model's (5% level); an interval spanning 0 is not evidence "
            "of no effect. Each claim's evidence states the smallest difference its test detects with 80% power.")


PAPER_HIDDEN, PAPER_EPOCHS = ModelConfig().hidden, 300  # the paper's hidden stack and training length


def network_note(cfg: DictConfig) -> str:
    """The notes' bullet on how this run's network and training length compare with the paper's."""
    hidden, epochs = list(cfg.model.hidden), cfg.trainer.max_epochs
    if hidden == PAPER_HIDDEN:
        width = "the paper's hidden stack (2061-1024-...-16)"
    else:
        width = "a narrower hidden stack than" if max(hidden) < max(PAPER_HIDDEN) else "another hidden stack than"
        width += f" the paper ({hidden}; `--config paper` gives 2061-1024-...-16)"
    length = (f"the paper's {PAPER_EPOCHS} epochs on one CPU thread per model" if epochs >= PAPER_EPOCHS else
              f"{epochs} of the paper's {PAPER_EPOCHS} epochs on one CPU thread per model, so the models are "
              "under-trained relative to the paper")
    return (f"- **Network and training.** This run uses {width} and trains {length}. "
            "Training times are CPU seconds and not comparable with the paper's GPU minutes. The weights start from "
            "Keras's Dense initialisation (Glorot-uniform kernels, zero biases), as the reference implementation's.")


NOTES_TEXT = """\
- **Data.** The MicroKORG recordings and the TU-Note violin library are not available here. The stand-ins are
  scales rendered from General MIDI programs with a soundfont (one program = one "patch", clip-level splits, 5
  patches held out for validation and 5 for test as the paper; `common.corpora.scales`) and single violin notes
  (GM 40) for training with a scale/arpeggio passage cut in two for validation and test. The one-octave clips are a
  chromatic scale (the paper's are C major) followed by a major and a minor triad on every semitone, so the synth
  can play every key and has heard chords; the five-octave clips are C-major scales as the paper's. A soundfont
  patch is much less varied than a MicroKORG patch with effects, so absolute MSEs are not comparable.
NETWORK_NOTE
- **The synthesizer's model** is not one of the paper's table models: the 2-unit sigmoid + skip model trained
  longer and with a log-magnitude term beside the MSE, which makes it render the quiet bins between partials that
  the MSE ignores (a ReLU output trained on the MSE alone leaves them at exact zero, which a log-spectral distance
  punishes). The tables use the paper's loss.
- **Chroma.** The one-hot chroma is the pitch class of the most salient pitch of a frame (a harmonic sum over
  A0-C8 on the STFT magnitudes), not the argmax of an 88-band STFT chromagram as the paper's, whose bands below
  about C3 hold one bin or none at 4096 points; the "Chroma labels" section compares both with the notes played.
- **Table V.** Default meshes are coarser than the paper's (see the table; `--config paper` uses 350, 50 and 5);
  the mesh spans [0, 1] per unit, the sigmoid's range.
- **Statistics.** The paper reports one run per model and no intervals. Ours are Student-t intervals over the
  training seeds for the tables and for the paired per-seed differences that decide each ordering; the summary
  states the power this number of seeds has."""
