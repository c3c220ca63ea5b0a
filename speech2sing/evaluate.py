"""``python -m speech2sing eval``: Table 1 for every system (means with 95% intervals over test items, seeds
averaged per item), the paper's orderings decided on paired differences, a Figure 3-like spectrogram figure,
audio examples and the automatic proxies of the listening test, through ``common.report``."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from common.errors import InputError
from common.lightning.config import eval_training_logs
from common.report import Clip, Example, Figure, Headline, Report, Section, Table, write_report
from common.report.targets import Target, new_inputs_section
from speech2sing import experiments, newinputs
from speech2sing import features as fx
from speech2sing.config import SYSTEM_NAMES, SYSTEMS
from speech2sing.table1 import BY_FAR, INPUT_ROW, PAPER, PROXY_MARGIN, claims, per_item, table1

log = logging.getLogger(__name__)

def figure3(result: dict, cfg: DictConfig, system: str, path: Path) -> None:
    """Input (stretched speech), target and predicted log-magnitudes of the first test item, 0-3 kHz."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = cfg.data
    inputs, outputs = result["outputs"][INPUT_ROW][0], result["outputs"][system][0]
    panels = [("Input log-STFT (stretched speech)", inputs["log_mag"]), ("Target log-STFT", result["target"]),
              (f"Predicted log-STFT ({SYSTEM_NAMES[system]})", outputs["log_mag"])]
    top = int(3000 * d.n_fft / d.sample_rate)
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.6), sharey=True, constrained_layout=True)
    for ax, (title, S) in zip(axes, panels):
        seconds = S.shape[1] * d.hop_length / d.sample_rate
        ax.imshow(S[:top], origin="lower", aspect="auto", cmap="magma", extent=[0, seconds, 0, 3000])
        ax.set(title=title, xlabel="time (s)")
    axes[0].set_ylabel("frequency (Hz)")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def examples(result: dict, cfg: DictConfig, items) -> list[Example]:
    sr, out = cfg.data.sample_rate, []
    for i, sample in enumerate(items[: cfg.eval.examples]):
        clips = [Clip(role="input", audio=sample.speech, sample_rate=sr, caption="speech (the input)"),
                 Clip(role="target", audio=result["target_audio"][i], sample_rate=sr,
                      caption="sung by the same voice (Griffin-Lim of the target spectrogram)")]
        clips += [Clip(role=f"output {name}", audio=result["outputs"][name][i]["audio"], sample_rate=sr,
                       caption=SYSTEM_NAMES[name]) for name in cfg.eval.systems if len(result["outputs"][name]) > i]
        out.append(Example(title=f"test item {sample.name} ({sample.speech_s:.1f} s of speech)", clips=clips))
    return out


def notes(cfg: DictConfig, result: dict) -> str:
    """The report's notes, every number in them read from ``cfg`` or ``result``."""
    d, m, e = cfg.data, cfg.model, cfg.eval
    bin_hz = d.sample_rate / d.n_fft
    return f"""\
- Data: {'the synthetic NUS-48E stand-in (`common.corpora.nus48e`: four MBROLA voices reading and singing the '
          'same generated lyrics; the sung melody is known exactly and is the contour input, where the paper uses '
          'a patch-CNN melody extractor)' if d.synthetic else 'NUS-48E; the contour is pYIN on the singing'}.
  Held out: every recording of song `{d.test_song}`; its singers also sing training songs, as in the paper.
- Samples, as the paper: every run of {d.min_words}+ consecutive words inside a silence-delimited sung chunk, words
  counted as syllables. Test items: up to {e.n_items} held-out samples with {e.min_speech_s:g} s of speech or more,
  no two overlapping in time ({len(result['items'])} such items exist here), the same for every system and seed.
- Size: {m.channels} channels (paper 512), {cfg.trainer.max_steps} steps of batch {d.batch_size} on
  {d.crop_frames}-frame crops (paper: 14 x 1000 iterations of batch 16 on whole samples); the learning rate decays by
  {cfg.optim.decay} every {cfg.optim.decay_every} steps; the gradient norm is clipped at
  {cfg.trainer.gradient_clip_val} (not in the paper).
- Pitch image `{d.pitch_image}`{PITCH_NOTES[d.pitch_image].format(bin_hz=bin_hz)}
  {'The pitch image is also added onto the output through a 5-bin x 3-frame filter and a per-bin gain '
   '(`model.melody_skip`, not in the paper): harmonics are placed at the melody, not only through the T/8 '
   'bottleneck.' if m.melody_skip else ''}
- Seeds: every system is trained once per seed of {list(e.seeds)} on {e.threads[0]} torch thread(s); the default
  system `{cfg.system}` (what `convert` uses) also on {list(e.threads[1:]) or 'no other'} thread(s), for On new
  inputs. An item's value is its mean over the seeds; orderings are decided on paired per-item differences.
- Claims: "by far" means RCA at least {BY_FAR} below every other system; "satisfactory" RCA means above the best
  single pitch class sung with the melody's voicing (per item); the phone-error proxy counts only when the
  recogniser errs at least {PROXY_MARGIN} less than always guessing the most common training phone on the real
  singing. Each row gives the smallest paired effect it detects (80% power, 95% level).
- The Singing Autoencoder is the proposed network fed the singing instead of the speech, as the paper describes it.
- Scoring: LSD on the network output before Griffin-Lim; RCA on pYIN (every {e.pitch_hop} samples) of the output
  after {e.griffinlim_iters} Griffin-Lim iterations. The speaker measure is the cepstral distortion (pitch-blind
  envelope cepstra, frame by frame) of the output to the sung target; an earlier distance of mean envelopes to each
  singer's training singing ranked B1, which regresses to the mean sung spectrum, above the singer's own voice.
- The listening test is replaced by proxies (phone error of a recogniser trained on the training singing and of
  P-MTL's own phoneme head; the speaker measure); they are not the paper's preference scores.
"""


PITCH_NOTES = {
    "onehot": " (the paper's): a 1 at the nearest of the {bin_hz:.1f} Hz bins; below about 250 Hz a bin is wider "
              "than a semitone, so low melodies reach the network only to within a semitone or two.",
    "linear": " (not the paper's one-hot): the 1 is split between the two {bin_hz:.1f} Hz bins around the F0 in "
              "proportion to closeness, so the F0 reaches the network to the cent.",
    "harmonics": " (not the paper's one-hot): the F0 and each of its harmonics split between the two {bin_hz:.1f} Hz "
                 "bins around it, so the F0 reaches the network to the cent and the harmonics where they sound.",
}


NEW_INPUTS = [Target("rpa", ">=", 0.6, "frames of the output within 50 cents of the melody (voiced in both)"),
              Target("note_cents", "<=", 50.0, "median over the notes of |each note's median error| (cents)"),
              Target("transpose_rpa", ">=", 0.6, "--transpose +5 and -5: the lower RPA against the moved melody")]


def new_inputs(cfg: DictConfig, rows: list[dict]) -> tuple[Section, dict]:
    """The "On new inputs" section: the default system per seed, thread setting and input set."""
    shown = [{k: v for k, v in r.items() if k != "clips"} for r in rows]
    text = (f"`convert` with the default system `{cfg.system}` ({SYSTEM_NAMES[cfg.system]}) on speech and melodies "
            "no training corpus holds: espeak-ng formant voices (male: "
            f"{', '.join(newinputs.VOICES['male'])}; female: {', '.join(newinputs.VOICES['female'])}) reading "
            f"`common.heldout.SENTENCES`, each on a random melody (`common.heldout.random_melody`, seeds "
            f"{list(cfg.eval.melody_seeds)}) written as MIDI, inside the register of the training singers of that "
            f"gender (MIDI {newinputs.REGISTERS['male']} and {newinputs.REGISTERS['female']}) and "
            f"{newinputs.TRANSPOSE:g} semitones from its edges. Pitch: pYIN (`common.pitch`) on the output. One row "
            "per training seed, torch thread setting and input set; each measure is the mean over the set's clips.")
    sr, seeds = cfg.data.sample_rate, list(cfg.eval.melody_seeds)
    references = {group: newinputs.calibrate(group, seeds, sr) for group in newinputs.GROUPS}
    text += " " + reference_text(references) + " " + skip_text(cfg, rows)
    section, entry = new_inputs_section(shown, ["seed", "threads", "input"], NEW_INPUTS, text)
    section.tables.append(Table(["seed", "threads", "input", "rpa", "rpa without the melody skip", "voicing recall",
                                 "median cents"],
                                [[r["seed"], r["threads"], r["input"], r["rpa"], r["rpa_no_skip"], r["recall"],
                                  r["median_cents"]] for r in rows],
                                caption="The same rows: RPA of the output and of the same network with the melody "
                                        "skip's gain at 0; the fraction of the melody's voiced frames the output "
                                        "voices; the median absolute pitch error on the frames voiced in both"))
    entry["rows"], entry["references"] = rows, references
    return section, entry


def reference_text(references: dict) -> str:
    """What reference outputs score on the same clips: a perfect one, and two that must miss the targets."""
    def scores(name):
        return "; ".join(f"{group} RPA {r[name]['rpa']:.2f}, note error {r[name]['note_cents']:.1f} cents"
                         for group, r in references.items())
    misses = all(not all(t.met(r[name][t.measure]) for t in NEW_INPUTS[:2])
                 for r in references.values() for name in ("speech", "constant"))
    return (f"The same measures on reference outputs of these clips: {newinputs.REFERENCES['melody']} scores "
            f"{scores('melody')} (the floor of pYIN's 0.2-semitone pitch states); {newinputs.REFERENCES['speech']} "
            f"{scores('speech')}; {newinputs.REFERENCES['constant']} {scores('constant')}: "
            f"{'both miss' if misses else '**not both miss**'} the RPA and note targets.")


def skip_text(cfg: DictConfig, rows: list[dict]) -> str:
    """How much of the pitch the melody skip brings, from the rows' RPA with its gain at 0."""
    if not cfg.model.melody_skip:
        return "The network has no melody skip: its decoder alone places the pitch."
    worst, best = min(r["rpa_no_skip"] for r in rows), max(r["rpa_no_skip"] for r in rows)
    imposed = best < NEW_INPUTS[0].value
    return ("**The melody is imposed by a direct path.** The default preset's melody skip (`model.melody_skip`, not "
            "in the paper) adds the pitch image, the melody's F0 and every harmonic, onto the output "
            "log-spectrogram through a learned 5-bin x 3-frame filter and a per-bin gain. With that gain at 0 the "
            f"same conversions score RPA {worst:.2f}-{best:.2f} "
            + ("(table below): the output's pitch comes from that path, a spectral resynthesis of the melody, not "
               "from the decoder, so these targets measure the pass-through." if imposed else
               "(table below): the decoder also places the pitch without it."))


def cpu_text(cpu: dict) -> str:
    """One paragraph: the jobs' CPU seconds by phase and system, and the preparation's wall seconds."""
    def parts(phase):
        return ", ".join(f"{name} {seconds:.0f}" for name, seconds in cpu[phase].items())
    train, score = sum(cpu["train"].values()), sum(cpu["score"].values())
    return (f"CPU seconds of the worker jobs: training {train:.0f} ({parts('train')}; all seeds of a system "
            f"together), scoring {score:.0f} ({parts('score')}). Preparing the samples took "
            f"{cpu['prepare_wall']:.0f} s of wall time (0 when they were on disk already).")


def evaluate(cfg: DictConfig) -> Path:
    eval_training_logs(cfg)
    unknown = [s for s in cfg.eval.systems if s not in SYSTEMS]
    if unknown:
        raise InputError(f"eval.systems: unknown system(s) {unknown}; use some of {list(SYSTEMS)}")
    started = time.perf_counter()
    out = Path(cfg.eval.out)
    out.mkdir(parents=True, exist_ok=True)
    result = experiments.run_systems(cfg)
    items = experiments.test_items(cfg, "uniform")
    result["target"] = items[0].Y
    result["target_audio"] = [fx.synthesize(s.Y, cfg.data.hop_length, cfg.convert.exponent,
                                            cfg.eval.griffinlim_iters) for s in items[: cfg.eval.examples]]
    systems = list(cfg.eval.systems)
    shown = "p_mtl" if "p_mtl" in systems else systems[0]
    figures = []
    if systems:
        figure3(result, cfg, shown, out / "figure3.png")
        figures.append(Figure(file="figure3.png", caption=f"Figure 3 for {items[0].name}: stretched speech, target "
                                                           f"singing and the {SYSTEM_NAMES[shown]} prediction."))
    checks = claims(result, systems)
    held = sum(c.holds for c in checks)
    headline = [Headline(name=f"LSD, {SYSTEM_NAMES[s]}", ours=float(np.mean(per_item(result, s, "lsd"))),
                         paper=PAPER[s][0], unit="dB") for s in ("p_mtl", "b1") if s in systems]
    headline += [Headline(name="RCA, P-MTL", ours=float(np.mean(per_item(result, "p_mtl", "rca"))),
                          paper=PAPER["p_mtl"][1], unit="")] if "p_mtl" in systems else []
    held_out, held_out_entry = new_inputs(cfg, result["new_inputs"])
    worst = [t["worst"] for t in held_out_entry["targets"] if t["target"].startswith("rpa")]
    no_skip = max((r["rpa_no_skip"] for r in result["new_inputs"]), default=None) if cfg.model.melody_skip else None
    headline.append(Headline(name="On new inputs: RPA, worst row", ours=worst[0] if worst else None, unit=""))
    seconds = time.perf_counter() - started
    report = Report(
        package="speech2sing",
        title="speech2sing: Parekh et al. (ICASSP 2020), speech-to-singing conversion",
        summary=(f"`python -m speech2sing eval` (run `{cfg.run.name}`): {len(systems)} systems trained "
                 f"{cfg.trainer.max_steps} steps each over seed(s) {list(cfg.eval.seeds)} on the "
                 f"{'synthetic NUS-48E stand-in' if cfg.data.synthetic else 'NUS-48E under ' + cfg.data.root}, "
                 f"scored on {len(result['items'])} held-out samples of song {cfg.data.test_song}. "
                 f"{held} of the paper's {len(checks)} orderings hold on paired differences. On new inputs "
                 f"(`convert` on held-out voices and melodies): {sum(t['holds'] for t in held_out_entry['targets'])} "
                 f"of {len(held_out_entry['targets'])} targets met in every one of {len(held_out_entry['rows'])} "
                 "rows" + (f", the pitch imposed by the melody skip (RPA {no_skip:.2f} or less without it)."
                           if no_skip is not None and no_skip < NEW_INPUTS[0].value else ".")),
        sections=[Section(title="Table 1: LSD and RCA, with the listening-test proxies",
                          text="Ours beside the paper's. Lower LSD, phone error and speaker distance, higher RCA "
                               "and speaker nearest are better." + (
                                   " Every melody-conditioned system here has the melody skip (`model.melody_skip`, "
                                   "not in the paper), which adds the pitch image onto the output: their RCA "
                                   "measures mostly that direct path (On new inputs gives the RPA without it)."
                                   if cfg.model.melody_skip else ""),
                          tables=[table1(result, systems)], figures=figures),
                  held_out, Section(title="Where the time went", text=cpu_text(result["cpu"]))],
        claims=checks, headline=headline, examples=examples(result, cfg, items),
        notes=notes(cfg, result), seconds=seconds,
        results={"config": OmegaConf.to_container(cfg), "items": result["items"], "paper": PAPER,
                 "new_inputs": held_out_entry,
                 "scores": {name: {str(seed): scores for seed, scores in by_seed.items()}
                            for name, by_seed in result["scores"].items()}})
    return write_report(report, out)
