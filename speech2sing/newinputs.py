"""The report's "On new inputs": ``convert`` on speech and melodies no training corpus holds (espeak-ng formant
voices, seeded random melodies written as MIDI, ``common.heldout``), measured with ``common.pitch``.

Per input set (male or female voices, each with melodies in its own register of the training corpus):

- ``rpa``: frames of the output within 50 cents of the melody, on the frames voiced in both (pYIN);
- ``note_cents``: the median over notes of each note's |median pitch error| (cents);
- ``transpose_rpa``: the lower RPA of ``--transpose +5`` and ``-5`` against the transposed melody;
- ``recall``: the fraction of the melody's voiced frames that the output voices (mir_eval's voicing recall);
- ``rpa_no_skip``: the RPA of the same conversion with the melody skip's gain set to 0 (NaN for a network
  without one): how much of the pitch comes through that direct path from the pitch image to the output.

The melodies lie 5 semitones inside the register, so the transposed ones stay inside it too. :func:`calibrate`
measures reference outputs on the same clips: the melody itself (additive synth, no vibrato; what a perfect
output scores, pYIN's 0.2-semitone states included), the input speech, and one constant pitch with the melody's
voicing (both must miss the targets).
"""

from __future__ import annotations

import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common import heldout
from common.errors import InputError
from common.pitch import agreement, note_errors, track_pitch
from speech2sing import inference
from speech2sing.module import Speech2SingModule

# the registers of the training corpus (common.corpora.nus48e.VOICE_RANGES, MIDI), per input set
REGISTERS = {"male": (45, 62), "female": (57, 74)}
GROUPS = tuple(REGISTERS)
VOICES = {"male": heldout.MALE_VOICES, "female": heldout.FEMALE_VOICES}
TRANSPOSE = 5.0
MEASURES = ("rpa", "median_cents", "recall", "note_cents", "notes_unvoiced", f"rpa{TRANSPOSE:+g}",
            f"rpa{-TRANSPOSE:+g}", "rpa_no_skip")
MEANS = ("rpa", "median_cents", "recall", "note_cents", "rpa_no_skip")


@dataclass(frozen=True)
class Clip:
    """One held-out input: espeak-ng ``speech`` (mono, the model's rate) and a ``melody`` in its register."""

    name: str
    speech: np.ndarray
    melody: heldout.Melody


def clips(group: str, melody_seeds: list[int], sample_rate: int, n_notes: int = 8) -> list[Clip]:
    """One clip per melody seed: voice and sentence taken in turn, the melody drawn inside the register's
    middle (5 semitones from each edge)."""
    low, high = REGISTERS[group]
    out = []
    for k, seed in enumerate(melody_seeds):
        voice = VOICES[group][k % len(VOICES[group])]
        sentence = heldout.SENTENCES[k % len(heldout.SENTENCES)]
        melody = heldout.random_melody(seed, low + int(TRANSPOSE), high - int(TRANSPOSE), n_notes=n_notes)
        out.append(Clip(f"{voice} / melody seed {seed}", heldout.speak(sentence, voice, sample_rate), melody))
    return out


def sing(module: Speech2SingModule, clip: Clip, transpose: float, exponent: float, n_iter: int) -> np.ndarray:
    """The ``convert`` verb's path: the melody written as MIDI and read back, then converted."""
    f = module.hparams.features
    with tempfile.TemporaryDirectory() as tmp:
        midi = Path(tmp) / "melody.mid"
        clip.melody.to_midi().write(str(midi))
        f0 = inference.melody_contour(midi, f["sample_rate"], f["hop_length"])
    return inference.convert(module, clip.speech, f0, transpose, exponent, n_iter, clip.name)


def measure(audio: np.ndarray, melody: heldout.Melody, sample_rate: int) -> dict:
    """Pitch of ``audio`` (time 0 = the melody's first onset, as ``convert`` writes it) against ``melody``."""
    start = melody.notes[0][0]
    times, f0 = track_pitch(audio, sample_rate)
    ref = (times, melody.f0(times + start))
    notes = [(a - start, b - start, p) for a, b, p in melody.notes]
    errors = np.abs(note_errors(ref, (times, f0), notes))
    got = agreement(ref, (times, f0))
    return {"rpa": got.accuracy, "median_cents": got.median_cents, "recall": got.recall,
            "note_cents": float(np.nanmedian(errors)) if np.isfinite(errors).any() else float("nan"),
            "notes_unvoiced": int(np.isnan(errors).sum())}


@contextmanager
def melody_skip_off(module: Speech2SingModule):
    """Inside the block the network has no melody skip (its per-bin gain is 0); a no-op without one."""
    gain = getattr(getattr(module, "network", None), "melody_gain", None)
    saved = None if gain is None else gain.detach().clone()
    try:
        if gain is not None:
            gain.data.zero_()
        yield gain is not None
    finally:
        if gain is not None:
            gain.data.copy_(saved)


def score_group(module: Speech2SingModule, group: str, melody_seeds: list[int], exponent: float = 1.2,
                n_iter: int = 40) -> dict:
    """The measures of one input set, each the mean over its clips (``transpose_rpa``: the lower of the
    two transposes' means); ``clips``: every clip's own numbers."""
    sr = module.hparams.features["sample_rate"]
    per_clip = []
    for clip in clips(group, melody_seeds, sr):
        try:
            row = {"clip": clip.name, **measure(sing(module, clip, 0.0, exponent, n_iter), clip.melody, sr)}
            for shift in (TRANSPOSE, -TRANSPOSE):
                audio = sing(module, clip, shift, exponent, n_iter)
                row[f"rpa{shift:+g}"] = measure(audio, clip.melody.transposed(shift), sr)["rpa"]
            with melody_skip_off(module) as has_skip:
                row["rpa_no_skip"] = (measure(sing(module, clip, 0.0, exponent, n_iter), clip.melody, sr)["rpa"]
                                      if has_skip else float("nan"))
        except InputError as err:  # convert refuses it (a melody outside the model's trained range): a miss
            row = {"clip": clip.name, "refused": str(err), **dict.fromkeys(MEASURES, float("nan"))}
        per_clip.append(row)
    mean = {k: float(np.mean([r[k] for r in per_clip])) for k in MEANS}
    mean["transpose_rpa"] = min(float(np.mean([r[f"rpa{s:+g}"] for r in per_clip])) for s in (TRANSPOSE, -TRANSPOSE))
    return {**mean, "clips": per_clip}


REFERENCES = {"melody": "the melody itself (additive synth)", "speech": "the input speech",
              "constant": "one constant pitch with the melody's voicing"}


def calibrate(group: str, melody_seeds: list[int], sample_rate: int) -> dict:
    """The measures of reference outputs on the clips of ``group``, each the mean over the clips:
    ``{"melody" | "speech" | "constant": {"rpa", "note_cents", "recall"}}`` (see :data:`REFERENCES`)."""
    out = {name: [] for name in REFERENCES}
    for clip in clips(group, melody_seeds, sample_rate):
        start, notes = clip.melody.notes[0][0], clip.melody.notes
        middle = float(np.median([p for _, _, p in notes]))
        for name, melody in (("melody", notes), ("constant", [(a, b, middle) for a, b, _ in notes])):
            moved = heldout.Melody(tuple((a - start, b - start, p) for a, b, p in melody))
            out[name].append(measure(heldout.additive(moved, sample_rate, vibrato_cents=0.0), clip.melody,
                                     sample_rate))
        out["speech"].append(measure(clip.speech, clip.melody, sample_rate))
    return {name: {k: float(np.mean([r[k] for r in rows])) for k in ("rpa", "note_cents", "recall")}
            for name, rows in out.items()}


def job(container: dict, checkpoint: str, seed: int, threads: int, group: str) -> dict:
    """A job of ``speech2sing.experiments.run_systems``: one model's row of an input set (``eval.melody_seeds``),
    with the job's CPU seconds (``cpu``)."""
    import time

    from omegaconf import OmegaConf

    from speech2sing.module import load_module

    started = time.process_time()
    cfg = OmegaConf.create(container)
    got = score_group(load_module(checkpoint), group, list(cfg.eval.melody_seeds), cfg.convert.exponent,
                      cfg.convert.griffinlim_iters)
    return {"seed": seed, "threads": threads, "input": group, **got, "cpu": time.process_time() - started}
