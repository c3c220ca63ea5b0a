"""The default models on what they never saw: controllable synthesis over every (instrument, pitch) pair of the
trained ranges, and timbre transfer of single notes rendered by FluidSynth with MuseScore General
(:mod:`common.heldout`, a soundfont no corpus uses). Pitch is pYIN's (:mod:`common.pitch`); the instrument is
the instrument judge's (a CNN trained to convergence on the corpus) on the rendered audio, analysed again.

A note's pitch is *kept* (or *hit*) when pYIN calls at least half of its frames voiced and their median is
within 50 cents of the asked MIDI pitch; pYIN searches the asked pitch +- 13 semitones, so an octave error
stays inside the search and counts as a miss.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np
import torch

from common.heldout import Melody, render_soundfont_many
from common.pitch import cents, track_pitch
from gmvae_timbre import data
from gmvae_timbre.module import NoteClassifier, TimbrePitchModule

WINDOW = 13  # semitones searched on each side of the asked pitch
TOLERANCE = 50.0  # cents
NOTE_SECONDS = 1.0  # held-out notes: held this long from t = 0


def note_pitch(audio: np.ndarray, sample_rate: int, midi: float) -> tuple[float, float]:
    """(median pitch of the voiced frames minus ``midi`` in cents (NaN when none is voiced), voiced fraction)."""
    low, high = librosa.midi_to_hz([midi - WINDOW, midi + WINDOW])
    _, f0 = track_pitch(audio, sample_rate, float(low), float(min(high, sample_rate / 2 - 1)))
    voiced = f0[f0 > 0]
    error = float(np.median(cents(voiced, librosa.midi_to_hz(midi)))) if len(voiced) else float("nan")
    return error, len(voiced) / len(f0)


def pitch_hit(error: float, voiced: float) -> bool:
    return bool(voiced >= 0.5 and abs(error) <= TOLERANCE)


@torch.no_grad()
def judge_audio(judge: NoteClassifier, audio: np.ndarray, features: dict, log_min: float,
                log_max: float) -> np.ndarray:
    """The judge's class probabilities ``(n, C)`` for waveforms ``(n, samples)``: each analysed like a corpus
    note (its first ``seconds`` as a log mel) and scaled with the training range."""
    x = np.stack([data.scale(data.log_mel(a, features), log_min, log_max) for a in audio]).astype(np.float32)
    return judge(torch.from_numpy(x)).softmax(-1).numpy()


@dataclass
class Scored:
    """Per item: asked instrument and MIDI pitch, pYIN's error and voicing, the judge's probabilities."""

    instrument: list[str]
    midi: list[int]
    error: np.ndarray
    voiced: np.ndarray
    probabilities: np.ndarray

    @property
    def hits(self) -> np.ndarray:
        return np.array([pitch_hit(e, v) for e, v in zip(self.error, self.voiced)])


def score_audio(audio: np.ndarray, instrument: list[str], midi: list[int], judge: NoteClassifier,
                module: TimbrePitchModule) -> Scored:
    f, rate = module.hparams.features, module.hparams.features["sample_rate"]
    pitch = [note_pitch(a, rate, m) for a, m in zip(audio, midi)]
    return Scored(instrument, midi, np.array([p[0] for p in pitch]), np.array([p[1] for p in pitch]),
                  judge_audio(judge, audio, f, module.hparams.log_min, module.hparams.log_max))


def trained_pairs(module: TimbrePitchModule) -> list[tuple[str, int]]:
    """Every (instrument, pitch class) inside the instrument's trained range (lowest to highest training note):
    every semitone when the corpus has every semitone."""
    return [(name, p) for name, (low, high) in module.hparams.ranges.items() for p in module.hparams.pitches
            if low <= p <= high]


@torch.no_grad()
def synth_all(module: TimbrePitchModule, judge: NoteClassifier, n_iter: int, batch: int = 64) -> Scored:
    """``synth`` at w = 0 for every trained pair, scored."""
    from gmvae_timbre.inference import sample_mels

    pairs = trained_pairs(module)
    names, pitches = module.hparams.instruments, module.hparams.pitches
    audio = []
    for i in range(0, len(pairs), batch):
        chunk = pairs[i:i + batch]
        k = torch.tensor([names.index(n) for n, _ in chunk])
        m = torch.tensor([pitches.index(p) for _, p in chunk])
        audio.append(module.render(sample_mels(module, k, m, 0.0), n_iter))
    return score_audio(np.concatenate(audio), [n for n, _ in pairs], [p for _, p in pairs], judge, module)


def heldout_notes(module: TimbrePitchModule, programs: dict[str, int], seed: int, per_instrument: int
                  ) -> tuple[list[str], list[int], np.ndarray]:
    """``per_instrument`` single notes of every instrument of the model at pitches drawn from ``seed`` inside its
    trained range, rendered by FluidSynth + MuseScore General -> (instruments, MIDI pitches, audio (n, samples))."""
    rng = np.random.default_rng(seed)
    rate = module.hparams.features["sample_rate"]
    n = round(module.hparams.features["seconds"] * rate)
    names, midis = [], []
    for name, (low, high) in module.hparams.ranges.items():
        for midi in rng.choice(np.arange(low, high + 1), per_instrument, replace=False):
            names.append(name)
            midis.append(int(midi))
    notes = render_soundfont_many([(Melody(((0.0, NOTE_SECONDS, float(midi)),)), programs[name])
                                   for name, midi in zip(names, midis, strict=True)], rate)
    return names, midis, np.stack([np.pad(note[:n], (0, max(0, n - len(note)))) for note in notes])


@torch.no_grad()
def transfer_heldout(module: TimbrePitchModule, judge: NoteClassifier, names: list[str], midis: list[int],
                     audio: np.ndarray, targets: int, seed: int, n_iter: int, snap_pitch: bool) -> dict:
    """``transfer`` as the verb runs it (source inferred, alpha 1, ``snap_pitch``) of every held-out note to
    ``targets`` other instruments whose trained range holds its pitch (drawn from ``seed``) -> the scored outputs,
    the true source, the inferred source and the judge's p(target) and p(source) per transfer."""
    from gmvae_timbre.inference import inferred_instrument

    f, classes = module.hparams.features, module.hparams.instruments
    x = torch.from_numpy(np.stack([data.scale(data.log_mel(a, f), module.hparams.log_min, module.hparams.log_max)
                                   for a in audio]).astype(np.float32))
    inferred = inferred_instrument(module, x).numpy()
    rng = np.random.default_rng(seed)
    rows, target = [], []
    for i, (name, midi) in enumerate(zip(names, midis)):
        others = [k for k, (low, high) in module.hparams.ranges.items() if low <= midi <= high and k != name]
        for t in rng.choice(others, min(targets, len(others)), replace=False):
            rows.append(i)
            target.append(str(t))
    t_index = torch.tensor([classes.index(t) for t in target])
    out = module.render(module.model.transfer(x[rows], torch.from_numpy(inferred[rows]), t_index, 1.0, snap_pitch),
                        n_iter)
    scored = score_audio(out, target, [midis[i] for i in rows], judge, module)
    items = np.arange(len(rows))
    return {"scored": scored, "source": [names[i] for i in rows], "inferred": [classes[inferred[i]] for i in rows],
            "p_target": scored.probabilities[items, t_index.numpy()],
            "p_source": scored.probabilities[items, [classes.index(names[i]) for i in rows]]}


def transfer_success(kept: np.ndarray, p_target: np.ndarray, p_source: np.ndarray) -> np.ndarray:
    """A transfer succeeds when the pitch is kept and the judge puts the target above the source."""
    return np.asarray(kept, dtype=bool) & (np.asarray(p_target) > np.asarray(p_source))


def run_row(module: TimbrePitchModule, judge: NoteClassifier, heldout: tuple, cfg) -> dict:
    """One row of the On new inputs table for a default model (fractions in [0, 1])."""
    e = cfg.eval
    synth = synth_all(module, judge, e.griffinlim_iters)
    recognised = np.array([module.hparams.instruments[k] == name
                           for k, name in zip(synth.probabilities.argmax(-1), synth.instrument)])
    moved = transfer_heldout(module, judge, *heldout, e.heldout_targets, e.heldout_seed, e.griffinlim_iters,
                             e.snap_pitch)
    kept = moved["scored"].hits
    return {"synth pairs": len(synth.hits), "synth pitch": float(synth.hits.mean()),
            "synth instrument": float(recognised.mean()), "transfers": len(kept),
            "transfer pitch kept": float(kept.mean()),
            "p(target) > p(source)": float((moved["p_target"] > moved["p_source"]).mean()),
            "transfer success": float(transfer_success(kept, moved["p_target"], moved["p_source"]).mean()),
            "source inferred": float(np.mean([a == b for a, b in zip(moved["source"], moved["inferred"])])),
            "synth misses": [f"{n} {m}" for n, m, h in zip(synth.instrument, synth.midi, synth.hits) if not h]}
