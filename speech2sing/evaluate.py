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
from common.lightning.config import eval_without_wandb
from common.report import (
    Claim,
    Clip,
    Example,
    Figure,
    Headline,
    Report,
    Section,
    Table,
    mean_ci,
    paired_diff,
    write_report,
)
from speech2sing import experiments
from speech2sing import features as fx
from speech2sing.config import SYSTEM_NAMES, SYSTEMS

log = logging.getLogger(__name__)

# Parekh et al. (2020), Table 1: LSD (dB), RCA over 100 random NUS-48E test samples
PAPER = {"b1": (14.19, 0.221), "b2": (11.71, 0.769), "allnorm": (11.72, 0.771), "p_mse": (11.22, 0.829),
         "p_mtl": (10.97, 0.857), "phsync": (10.91, 0.833), "singing_ae": (5.51, 0.991)}
METRICS = ("lsd", "rca", "phone_error", "speaker_cosine")
MELODY_SYSTEMS = ("b2", "allnorm", "p_mse", "p_mtl", "phsync")
STS_SYSTEMS = ("b1", "b2", "allnorm", "p_mse", "p_mtl", "phsync")


def per_item(result: dict, system: str, metric: str) -> np.ndarray:
    """One value per test item: the metric averaged over the system's seeds."""
    seeds = result["scores"][system].values()
    return np.mean([[s[metric] for s in scores] for scores in seeds], axis=0)


def per_seed(result: dict, system: str, metric: str) -> np.ndarray:
    """One value per training seed: the metric averaged over the test items."""
    return np.array([np.mean([s[metric] for s in scores]) for scores in result["scores"][system].values()])


def seed_interval(values: np.ndarray) -> tuple[float, float]:
    """95% Student-t interval of the mean of per-seed values (n >= 2)."""
    from scipy import stats

    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return float(values.mean() - half), float(values.mean() + half)


def table1(result: dict, systems: list[str]) -> Table:
    n_items, n_seeds = len(result["items"]), max(len(v) for v in result["scores"].values())
    rows = []
    for name in [experiments.INPUT_ROW, *systems]:
        cells = [SYSTEM_NAMES.get(name, "Input: stretched speech (no conversion)")]
        for metric, paper in (("lsd", 0), ("rca", 1)):
            mean, lo, hi = mean_ci(per_item(result, name, metric))
            digits = 2 if metric == "lsd" else 3
            cells += [mean, f"[{lo:.{digits}f}, {hi:.{digits}f}]"]
            if n_seeds > 1:
                seeds = per_seed(result, name, metric)
                cells.append(f"[{seed_interval(seeds)[0]:.{digits}f}, {seed_interval(seeds)[1]:.{digits}f}]"
                             if len(seeds) > 1 else None)
            cells.append(PAPER[name][paper] if name in PAPER else None)
        cells.append(float(np.mean(per_item(result, name, "phone_error"))))
        head = "head_phone_error" in result["scores"][name][next(iter(result["scores"][name]))][0]
        cells.append(float(np.mean(per_item(result, name, "head_phone_error"))) if head else None)
        cells.append(float(np.mean(per_item(result, name, "speaker_cosine"))))
        rows.append(cells)
    def ci(metric):
        return [f"{metric} 95% CI, items", *[f"{metric} 95% CI, seeds"] * (n_seeds > 1)]
    return Table(columns=["system", "LSD ours", *ci("LSD"), "LSD paper", "RCA ours", *ci("RCA"), "RCA paper",
                          "phone error (recogniser proxy)",
                          "phone error (P-MTL head)", "speaker cosine (proxy)"], rows=rows, digits=3,
                 caption=f"Means over {n_items} held-out test samples: 95% bootstrap intervals over items (each "
                         f"item's value is the mean over {n_seeds} training seed(s))"
                         + (f" and 95% t-intervals over the {n_seeds} seeds' means. " if n_seeds > 1 else ". ")
                         + "LSD over 100 Hz-3.5 kHz of the network output vs the sung spectrogram, as the reference "
                         "code computes it (the paper labels it dB). RCA: pYIN on the Griffin-Lim output vs the "
                         "input contour. Phone error: frame error against the sung phone labels, of a phone "
                         "recogniser trained on the training singing and run on each output (it errs on "
                         f"{np.mean(result['target_phone_error']):.3f} of the frames of the true singing), and "
                         "of P-MTL's own phoneme head. Speaker cosine: mean MFCC 1-24 of output vs the speaker's "
                         "speech.")


def _diff(result, a, b, metric):
    return paired_diff(per_item(result, a, metric), per_item(result, b, metric))


def _all_lower(result, system, others, metric, sign=1.0) -> tuple[bool, str]:
    """``system`` below each of ``others`` in ``metric`` (``sign=-1``: above), each paired CI excluding 0."""
    held, parts = True, []
    for other in others:
        mean, lo, hi, n = _diff(result, system, other, metric)
        held &= bool(hi < 0) if sign > 0 else bool(lo > 0)
        parts.append(f"vs {other} {mean:+.3f} [{lo:+.3f}, {hi:+.3f}]")
    return held, f"{metric} paired differences over {n} items: " + "; ".join(parts)


def claims(result: dict, systems: list[str]) -> list[Claim]:
    """The orderings of Section 3.2, each decided on paired per-item differences (95% bootstrap CI)."""
    have = set(systems)
    out = []

    def add(text, needed, decide):
        if len(needed) > 1 and set(needed) <= have:
            holds, evidence = decide()
            out.append(Claim(claim=text, holds=bool(holds), evidence=evidence))

    others = [s for s in STS_SYSTEMS if s != "b1" and s in have]
    add("B1 (no melody) is the worst system, by far in RCA", ["b1", *others],
        lambda: _all_lower(result, "b1", others, "rca"))
    add("P-MSE has a lower LSD than AllNorm", ["p_mse", "allnorm"],
        lambda: _all_lower(result, "p_mse", ["allnorm"], "lsd"))
    add("Proposed MSE + PhSync has a lower LSD than P-MSE", ["phsync", "p_mse"],
        lambda: _all_lower(result, "phsync", ["p_mse"], "lsd"))
    rivals = [s for s in ("b1", "b2", "allnorm", "p_mse") if s in have]
    add("P-MTL has the best LSD among the systems without PhSync", ["p_mtl", *rivals],
        lambda: _all_lower(result, "p_mtl", rivals, "lsd"))

    add("P-MTL is more intelligible than P-MSE (lower phone error of the recogniser on its output; the paper's "
        "listening test, Q1)", ["p_mtl", "p_mse"], lambda: _all_lower(result, "p_mtl", ["p_mse"], "phone_error"))

    def comparable():
        means = {s: float(np.mean(per_item(result, s, "rca"))) for s in MELODY_SYSTEMS if s in have}
        spread = max(means.values()) - min(means.values())
        floor = float(np.mean(per_item(result, experiments.INPUT_ROW, "rca"))) + 0.1
        return spread <= 0.1 and min(means.values()) > floor, (
            f"RCA means {', '.join(f'{s} {v:.3f}' for s, v in means.items())}: spread {spread:.3f} (comparable: "
            f"within 0.1, the paper's spread is 0.088) and each above the unconverted speech + 0.1 ({floor:.3f})")
    add("Comparable (and satisfactory) RCA for every melody-conditioned system",
        [s for s in MELODY_SYSTEMS if s in have][:2], comparable)
    sts = [s for s in STS_SYSTEMS if s in have]

    def upper_bound():
        lsd, lsd_text = _all_lower(result, "singing_ae", sts, "lsd")
        rca, rca_text = _all_lower(result, "singing_ae", sts, "rca", sign=-1.0)
        return lsd and rca, f"{lsd_text}. {rca_text}"
    add("The Singing Autoencoder is an upper bound (lower LSD and higher RCA than every STS system)",
        ["singing_ae", *sts[:1]], upper_bound)
    return out


def figure3(result: dict, cfg: DictConfig, system: str, path: Path) -> None:
    """Input (stretched speech), target and predicted log-magnitudes of the first test item, 0-3 kHz."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = cfg.data
    inputs, outputs = result["outputs"][experiments.INPUT_ROW][0], result["outputs"][system][0]
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


NOTES = """\
- Data: the synthetic NUS-48E stand-in (`common.corpora.nus48e`: four MBROLA voices reading and singing the
  same generated lyrics, songs of 8 lines where NUS-48E's run 2-3 minutes; the sung melody is known exactly
  and is the contour input, where the paper uses a patch-CNN melody extractor). On real NUS-48E
  (`data.synthetic=false`) the contour is pYIN on the singing. Held out: every recording of song
  `data.test_song` (two recordings, as the paper); its singers also sing training songs, as in the paper.
- Samples, as the paper: every run of 3+ consecutive words inside a silence-delimited sung chunk, words counted
  as syllables (the labels carry phones only). Test items: a seeded random draw of `eval.n_items` (20 in the
  default, the paper's 100 in `paper.yaml`) of the held-out samples with 1 s of speech or more, the same items
  for every system and seed. They overlap (runs share words; 8 lines per recording), so the intervals over
  items are narrower than for independent samples.
- Size: CPU budget. Network width `model.channels` (paper 512), `trainer.max_steps` steps of batch
  `data.batch_size` on random `data.crop_frames`-frame crops (paper: 14 x 1000 iterations of batch 16 on whole
  samples). Learning rate decays by 0.92 every `optim.decay_every` steps (the paper gives no period; one decay
  per 1000-iteration epoch is our reading, so the 600-step default runs at the full rate 0.002 throughout).
  The gradient norm is clipped at `trainer.gradient_clip_val` = 1 (not in the paper): without it P-MSE blew
  up at step ~1,830 of a 2,400-step run; the 600-step default never reaches norm 1, so its numbers are the same.
- RCA is a matter of training budget here, not of the melody path: the pitch image is aligned with the target
  frames (the sung spectrogram's strongest low bin is C's bin, frame for frame), reaches the melody encoder whose
  code joins the speech's at the T/8 bottleneck, and is the contour RCA is scored against; the target singing
  through the same Griffin-Lim and pYIN path scores RCA 0.94. P-MSE (seed 0, 20 held-out items) learns to follow
  the melody only after the first few hundred steps: RCA 0.17 at 300 steps, 0.56 at 600 (constant rate; with 11
  decays squeezed into 300 steps 0.075 at 300 and 0.54 at 1000), from
  `bench/speech2sing_rca.py optim.decay_every=1000 --system p_mse --steps 300 600`. The default trains 600 steps
  per system (21 trainings fit the eval's 10 minutes; at 300 steps RCA was 0.01-0.27, bimodal over seeds); the
  skip connections let a short run copy the speech's harmonics, which is why B2 (no skips) followed the melody
  best at 300 steps. Even at 600 steps the budget is a few percent of the paper's 14,000 iterations of batch 16.
- Seeds: every system is trained once per seed of `eval.seeds` (three by default). An item's value is its
  mean over the seeds; the table gives 95% bootstrap intervals over the items and 95% t-intervals over the
  seeds' means; each ordering is decided on the paired per-item differences of those seed means.
- The Singing Autoencoder is the proposed network itself (both encoders, skips, IN before the GRUs) fed the
  singing instead of the speech, as the paper describes it. An earlier reading without the skip connections
  (code only) learnt no more than the mean spectral envelope in a few hundred steps and was no upper bound.
- Scoring cost: the outputs are rendered with `eval.griffinlim_iters` Griffin-Lim iterations after the PGHI
  phase (16 in the default, 40 in `paper.yaml` and in `convert`), and pYIN for RCA runs every
  `eval.pitch_hop` samples (32 ms in the default, resampled onto the contour's 16 ms frames).
- The speech pitch shift is applied to the spectrogram (frequency axis resampled by 2^(s/12)). The decoder GRU
  sits at T/4, mirroring the encoder's, not at full resolution. Unvoiced frames have an all-zero pitch-image
  column (the reference code sets its last row).
- The pitch image has 15.6 Hz bins (1024-point FFT at 16 kHz, the paper's): below about 250 Hz a bin is wider
  than a semitone, so a male melody reaches the network only to within one or two semitones, which caps RCA.
- LSD is on the network output before Griffin-Lim; RCA on pYIN of the Griffin-Lim audio.
- The listening test is replaced by proxies (phone error of a recogniser trained on the training singing and of
  P-MTL's own phoneme head; speaker cosine); they are not the paper's preference scores.
"""


def cpu_text(cpu: dict) -> str:
    """One paragraph: the jobs' CPU seconds by phase and system, and the preparation's wall seconds."""
    def parts(phase):
        return ", ".join(f"{name} {seconds:.0f}" for name, seconds in cpu[phase].items())
    train, score = sum(cpu["train"].values()), sum(cpu["score"].values())
    return (f"CPU seconds of the worker jobs: training {train:.0f} ({parts('train')}; all seeds of a system "
            f"together), scoring {score:.0f} ({parts('score')}). Preparing the samples took "
            f"{cpu['prepare_wall']:.0f} s of wall time (0 when they were on disk already).")


def evaluate(cfg: DictConfig) -> Path:
    eval_without_wandb(cfg)
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
    seconds = time.perf_counter() - started
    report = Report(
        package="speech2sing",
        title="speech2sing: Parekh et al. (ICASSP 2020), speech-to-singing conversion",
        summary=(f"`python -m speech2sing eval` (run `{cfg.run.name}`): {len(systems)} systems trained "
                 f"{cfg.trainer.max_steps} steps each over seed(s) {list(cfg.eval.seeds)} on the "
                 f"{'synthetic NUS-48E stand-in' if cfg.data.synthetic else 'NUS-48E under ' + cfg.data.root}, "
                 f"scored on {len(result['items'])} held-out samples of song {cfg.data.test_song}. "
                 f"{held} of the paper's {len(checks)} orderings hold on paired differences."),
        sections=[Section(title="Table 1: LSD and RCA, with the listening-test proxies",
                          text="Ours beside the paper's. Lower LSD and phone error, higher RCA and cosine are better.",
                          tables=[table1(result, systems)], figures=figures),
                  Section(title="Where the time went", text=cpu_text(result["cpu"]))],
        claims=checks, headline=headline, examples=examples(result, cfg, items),
        notes=NOTES, seconds=seconds,
        results={"config": OmegaConf.to_container(cfg), "items": result["items"], "paper": PAPER,
                 "scores": {name: {str(seed): scores for seed, scores in by_seed.items()}
                            for name, by_seed in result["scores"].items()}})
    return write_report(report, out)
