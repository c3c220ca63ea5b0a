"""The report's "On new inputs": held-out melodies (``common.heldout.render_soundfont``: FluidSynth +
MuseScore General, a soundfont no corpus uses; not the project's additive synth, whose kind of timbre the tone
corpus trains on) translated to the target domain and measured with ``common.pitch``.

Per model and input source (each over ``MELODY_SEEDS``): the fraction of frames within 50 cents of the input on
frames voiced in both, the output's voiced frames relative to the input's, and the output's spectral flatness as a
factor of real target-domain audio's (``max(r, 1 / r)``, both through the same 8-bit mu-law).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from common import heldout
from common.audio import load_audio, save_audio
from common.mulaw import mu_law_decode, mu_law_encode
from common.pitch import agreement, spectral_flatness, track_pitch
from common.report.targets import Target

# GM programs of the held-out soundfont; none is a training domain's (tones.PROGRAMS)
SOURCES = {"violin": 40, "flute": 73, "clarinet": 71, "oboe": 68}
MELODY_SEEDS = (11, 12)
LOW, HIGH = 57, 77  # MIDI: inside the tone corpus's 55-79
FMIN, FMAX = 80.0, 1200.0  # pYIN range: an octave below and above the melodies' notes
TARGETS = [Target("within_50_cents", ">=", 0.8, "frames within 50 cents of the input, on frames voiced in both"),
           Target("voiced_ratio", ">=", 0.9, "voiced frames of the output / of the input"),
           Target("flatness_factor", "<=", 2.0, "spectral flatness vs real target-domain audio, as a factor")]


def render_inputs(rate: int, seeds=MELODY_SEEDS, sources=tuple(SOURCES), cache: str | Path | None = None
                  ) -> list[dict]:
    """Every (source, melody seed): {"source", "seed", "audio" (T,) float32 at ``rate``, "contour" (its pYIN
    contour)}; rendered audio is kept in ``cache`` (FluidSynth takes seconds per call; the missing ones are
    rendered by one)."""
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise ValueError(f"unknown held-out source {unknown[0]!r}; use some of {', '.join(SOURCES)}")
    keys = [(seed, source) for seed in seeds for source in sources]
    paths = {k: Path(cache) / f"heldout-{k[1]}-{k[0]}-{rate}hz.wav" if cache else None for k in keys}
    audio = {k: load_audio(paths[k], rate) for k in keys if paths[k] is not None and paths[k].is_file()}
    missing = [k for k in keys if k not in audio]
    rendered = heldout.render_soundfont_many([(heldout.random_melody(seed, LOW, HIGH), SOURCES[source])
                                              for seed, source in missing], rate) if missing else []
    for key, clip in zip(missing, rendered, strict=True):
        audio[key] = clip
        if paths[key] is not None:
            save_audio(paths[key], clip, rate)
    out = []
    for seed, source in keys:
        clip = audio[seed, source]
        out.append({"source": source, "seed": seed, "audio": clip, "contour": contour(clip, rate)})
    return out


def contour(audio: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    return track_pitch(audio, rate, fmin=FMIN, fmax=FMAX)


def flatness(audio: np.ndarray, rate: int) -> float:
    return spectral_flatness(audio, rate, n_fft=512 if rate <= 8000 else 1024)


def reference_flatness(segments: np.ndarray, rate: int) -> float:
    """Median spectral flatness of real target-domain segments (uint8 mu-law codes, (n, T))."""
    return float(np.median([flatness(mu_law_decode(torch.from_numpy(s.astype(np.int64))).numpy(), rate)
                            for s in segments]))


def through_mulaw(audio: np.ndarray) -> np.ndarray:
    return mu_law_decode(mu_law_encode(torch.from_numpy(audio))).numpy()


def clip_measures(reference: tuple[np.ndarray, np.ndarray], out: np.ndarray, rate: int) -> dict:
    """An input's contour and its translation -> {within_50_cents, voiced_ratio, flatness, both, median_cents,
    recall, false_alarm}."""
    a = agreement(reference, contour(out, rate))
    return {"within_50_cents": a.accuracy, "voiced_ratio": a.voiced_ratio, "both": a.both,
            "median_cents": a.median_cents, "flatness": flatness(out, rate), "recall": a.recall,
            "false_alarm": a.false_alarm}


def rows_of(clips: list[dict], reference: float, keys: dict) -> list[dict]:
    """Per source: the clips' measures (frames pooled over melodies for the pitch accuracy) + ``keys``."""
    rows = []
    for source in dict.fromkeys(c["source"] for c in clips):
        mine = [c["measures"] for c in clips if c["source"] == source]
        both = sum(m["both"] for m in mine)
        ratio = float(np.median([m["flatness"] for m in mine])) / reference
        rows.append({**keys, "input": source,
                     "within_50_cents": sum(m["within_50_cents"] * m["both"] for m in mine) / both if both else 0.0,
                     "voiced_ratio": float(np.mean([m["voiced_ratio"] for m in mine])),
                     "flatness_factor": max(ratio, 1 / ratio) if ratio > 0 else float("inf"),
                     "median_cents": float(np.nanmedian([m["median_cents"] for m in mine])),
                     "flatness": ratio * reference})
    return rows
