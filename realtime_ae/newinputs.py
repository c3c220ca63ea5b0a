"""The report's "On new inputs" section: the synthesizer's default model, every seed and thread setting, on what
no training corpus holds.

- ``render``: for each of the 12 chroma buttons, held notes at 9 latent points spread over the sliders' range (a
  3 x 3 grid for 2 units), through the engine exactly as ``render`` runs it (float16 decoder, stored noise phase,
  default volume), judged by librosa's CQT chromagram of the audio (not the package's own chroma). A class is hit
  when most of its 9 renders are judged that class.
- Clipping: samples at or above full scale in all those renders.
- Repetition: the shortest lag at which a held note's output repeats exactly (searched up to ``REPEAT_SEARCH``).
- ``resynth``: melodies and triads from the held-out soundfont (FluidSynth + MuseScore General) and from the
  project's additive synthesiser (:mod:`common.heldout`), in the one-octave range the model was trained on. Log-spectral
  distance (dB, floor 80 dB below the clip's peak as librosa's ``power_to_db``) of the output to the input, against
  the same for the clip's mean spectrum (every frame its clip's mean normalised frame at its own peak, inverted the
  same way): the autoencoder must carry more than the clip's average timbre.
"""

from __future__ import annotations

import numpy as np
import torch

from common import heldout
from common.metrics import log_spectral_distance
from common.report.targets import Target, new_inputs_section
from common.spectral import stft
from realtime_ae.engine import SynthEngine
from realtime_ae.export import dense_layers, latent_range
from realtime_ae.runtime import DenseChain
from realtime_ae.synth import frames_and_phase, invert, resynthesise_audio

MELODY_RANGE, CHORD_ROOTS = (60, 72), (60, 67)  # the one-octave corpus's range
HELD_SECONDS, JUDGED_SECONDS = 1.2, 0.8  # each judged render, and its settled end the judge hears
REPEAT_SECONDS, REPEAT_SEARCH = 12.0, 10.0
TOP_DB = 80.0
TARGETS = [Target("chroma_classes", ">=", 12, "render: classes of 12 whose held notes sound as asked"),
           Target("clipped_samples", "<=", 0, "render: samples at full scale, default volume"),
           Target("shortest_repeat_s", ">=", REPEAT_SEARCH, "render: exact repetition of a held note (s)")]
LSD_MARGIN = 0.1  # dB: "below the clip-mean baseline" by at least this (a resynthesis equal to it must fail)
LSD_TARGETS = [Target("lsd_below_mean_db", ">=", LSD_MARGIN, "resynth: clip-mean LSD minus resynth LSD (dB)")]


def chords(seed: int, count: int = 6) -> heldout.Melody:
    """``count`` root-position major or minor triads, roots in ``CHORD_ROOTS``, 0.6-1.0 s each."""
    rng = np.random.default_rng(seed)
    notes, t = [], 0.1
    for _ in range(count):
        root, third, length = int(rng.integers(CHORD_ROOTS[0], CHORD_ROOTS[1] + 1)), 3 + int(rng.random() < 0.5), \
            float(rng.uniform(0.6, 1.0))
        notes += [(round(t, 4), round(t + length, 4), float(root + i)) for i in (0, third, 7)]
        t += length + 0.05
    return heldout.Melody(tuple(notes))


def inputs(sample_rate: int, programs: list[int], seed: int = 0) -> dict[str, list[np.ndarray]]:
    """Input set -> clips: per GM program of the held-out soundfont one melody and one run of chords (all from one
    FluidSynth call), and as many from the additive synthesiser."""
    sets = {"soundfont melodies": [], "soundfont chords": [], "additive melodies": [], "additive chords": []}
    items = []
    for n, program in enumerate(programs):
        items += [(heldout.random_melody(1000 * seed + 10 * n + 1, *MELODY_RANGE), program),
                  (chords(1000 * seed + 10 * n + 2), program)]
    rendered = heldout.render_soundfont_many(items, sample_rate)
    for n, _ in enumerate(programs):
        sets["soundfont melodies"].append(rendered[2 * n])
        sets["soundfont chords"].append(rendered[2 * n + 1])
        sets["additive melodies"].append(heldout.additive(heldout.random_melody(1000 * seed + 10 * n + 3,
                                                                                 *MELODY_RANGE), sample_rate))
        sets["additive chords"].append(heldout.additive(chords(1000 * seed + 10 * n + 4), sample_rate))
    return sets


def half_engines(module, volume: float, seed: int = 0):
    """A maker of fresh engines as ``render`` runs them: the float16 numpy decoder (``synth.backend=half``)."""
    layers = dense_layers(module)
    chain = DenseChain({k: v.astype(np.float16) if k.startswith("w") else v for k, v in layers.items()},
                       module.hparams.model["skip"])
    f = module.hparams.features
    return lambda: SynthEngine(chain, module.hparams.model["bottleneck"], f["sample_rate"], f["n_fft"],
                               f["hop_length"], volume=volume, seed=seed, frames_per_decode=2)


def held(engine: SynthEngine, z: np.ndarray, pitch_class: int, seconds: float) -> np.ndarray:
    """A held note at latent ``z`` from a fresh ``engine`` (the smoothing skipped: the latent starts at its
    target)."""
    engine.set_latent(z)
    engine.z[:] = z
    engine.set_chroma(pitch_class)
    return engine.render(int(np.ceil(seconds * engine.sample_rate / engine.hop)))


def latent_points(low: list[float], high: list[float], count: int = 9, seed: int = 0) -> np.ndarray:
    """``count`` latents inside the sliders' range: for 9 and 2 units a 3 x 3 grid at 1/6, 1/2, 5/6 of it, else
    uniform draws from its middle 80%."""
    low, high = np.asarray(low), np.asarray(high)
    if len(low) == 2 and count == 9:
        u = np.array([(a, b) for a in (1 / 6, 1 / 2, 5 / 6) for b in (1 / 6, 1 / 2, 5 / 6)])
    else:
        u = np.random.default_rng(seed).uniform(0.1, 0.9, (count, len(low)))
    return (low + u * (high - low)).astype(np.float32)


def judge_chroma(clips: list[np.ndarray], sample_rate: int) -> np.ndarray:
    """librosa's CQT chroma argmax (C = 0) of each clip's last ``JUDGED_SECONDS`` (one CQT over them all)."""
    import librosa

    n = int(JUDGED_SECONDS * sample_rate)
    hop = 512
    chroma = librosa.feature.chroma_cqt(y=np.concatenate([c[-n:] for c in clips]), sr=sample_rate, hop_length=hop)
    per = n // hop
    return np.array([chroma[:, i * per + 4: (i + 1) * per - 4].sum(1).argmax() for i in range(len(clips))])


def synth_row(make_engine, low: list[float], high: list[float], count: int = 9) -> dict:
    """The render measures of the engines ``make_engine()`` returns (fresh, at the default volume), over ``count``
    latents in [``low``, ``high``]."""
    points = latent_points(low, high, count)
    clips = [held(make_engine(), z, k, HELD_SECONDS) for k in range(12) for z in points]
    engine = make_engine()
    judged = judge_chroma(clips, engine.sample_rate).reshape(12, len(points))
    hits = judged == np.arange(12)[:, None]
    note = held(engine, points[len(points) // 2], 9, REPEAT_SECONDS)
    return {"chroma_classes": int((hits.mean(1) > 0.5).sum()), "renders_as_asked": float(hits.mean()),
            "clipped_samples": int(sum((np.abs(c) >= 1.0).sum() for c in [*clips, note])),
            "shortest_repeat_s": shortest_repeat(note, engine.hop, engine.sample_rate)}


def shortest_repeat(audio: np.ndarray, hop: int, sample_rate: int) -> float:
    """The shortest lag (s, a whole number of blocks) at which one second of ``audio`` (after a second of
    settling) recurs sample for sample later on; ``REPEAT_SEARCH`` when none does within that lag."""
    blocks = audio[: len(audio) // hop * hop].reshape(-1, hop)
    start, width = int(np.ceil(sample_rate / hop)), int(np.ceil(sample_rate / hop))
    window = blocks[start: start + width]
    for lag in range(1, min(len(blocks) - start - width, int(REPEAT_SEARCH * sample_rate / hop)) + 1):
        if np.array_equal(window, blocks[start + lag: start + lag + width]):
            return lag * hop / sample_rate
    return REPEAT_SEARCH


def lsd_pair(audio: np.ndarray, resynth, n_fft: int, hop: int) -> tuple[float, float]:
    """(LSD of ``resynth(audio)``, LSD of the clip-mean spectrum) to ``audio``, dB, over its non-silent frames."""
    frames, peaks, kept, spec = frames_and_phase(audio, n_fft, hop, "held-out clip")
    mean = invert(frames.mean(0, keepdim=True).expand_as(frames), peaks, kept, spec, hop, len(audio))

    def mags(x: np.ndarray) -> torch.Tensor:
        return stft(torch.from_numpy(np.asarray(x, np.float32)), n_fft, hop).abs()[:, kept]

    reference = mags(audio)
    floor = float(reference.max()) * 10 ** (-TOP_DB / 20)
    return tuple(log_spectral_distance(reference, mags(x), amin=floor) for x in (resynth(audio), mean))


def lsd_rows(resynth, clips: dict, n_fft: int, hop: int) -> list[dict]:
    """One row per input set: mean LSDs of the resynthesis and of the clip mean, and their mean difference."""
    rows = []
    for name, group in clips.items():
        pairs = np.array([lsd_pair(audio, resynth, n_fft, hop) for audio in group])
        rows.append({"input": name, "lsd_resynth_db": float(pairs[:, 0].mean()),
                     "lsd_clip_mean_db": float(pairs[:, 1].mean()),
                     "lsd_below_mean_db": float((pairs[:, 1] - pairs[:, 0]).mean())})
    return rows


def section(models: dict, corpus, clips: dict, volume: float):
    """``models``: (seed, threads) -> trained module. -> (Section, results entry)."""
    synth, resynth = [], []
    for (seed, threads), module in models.items():
        f = module.hparams.features
        synth.append({"seed": seed, "threads": threads, **synth_row(half_engines(module, volume),
                                                                    *latent_range(module, corpus))})
        resynth += [{"seed": seed, "threads": threads, **row} for row in lsd_rows(
            lambda audio, m=module: resynthesise_audio(m, audio), clips, f["n_fft"], f["hop_length"])]
    text = (__doc__.split("\n\n", 1)[1] + f"\n{len(next(iter(clips.values())))} clips per input set (held-out GM "
            f"programs: eval.heldout_programs). Default volume {volume}.")
    first, result = new_inputs_section(synth, ["seed", "threads", "renders_as_asked"], TARGETS, text)
    second, lsd = new_inputs_section(resynth, ["seed", "threads", "input", "lsd_resynth_db", "lsd_clip_mean_db"],
                                     LSD_TARGETS, "")
    first.tables += second.tables
    return first, {"rows": result["rows"] + lsd["rows"], "targets": result["targets"] + lsd["targets"],
                   "all_met": result["all_met"] and lsd["all_met"]}
