"""Using trained models: per-frame latent features, DTW alignment, MIDI re-timing and voice separation.

A stage-2 checkpoint holds the frozen source encoder, the target model and both domains' normalisation
statistics, so it is all ``align`` and ``separate`` need.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pretty_midi
import torch

from common import spectral
from common.dtw import cost_matrix, dtw, multiscale_dtw
from common.lightning.checkpoint import load_checkpoint
from da_vae import features
from da_vae.module import SourceVAE, TargetDAE, TargetEncoder, _Stage, kind

EXACT_DTW_CELLS = 25_000_000  # above this many cost-matrix cells, multiscale DTW


def load_stage(path: str | Path, task: str, stage: str, hint: str) -> _Stage:
    """The ``stage`` ("source" or "target") model of ``task`` saved in checkpoint ``path``, in eval mode, read
    through ``common.lightning.checkpoint.load_checkpoint``: a folder, a missing or unreadable file, another
    package's checkpoint or another task's or stage's model is one ``InputError`` naming the path, ending with
    ``hint``."""
    checkpoint = load_checkpoint(path, "da_vae", [kind(task, stage)], hint)
    hp = dict(checkpoint["hyper_parameters"])
    cls = SourceVAE if stage == "source" else TargetDAE if task == "separation" else TargetEncoder
    module = cls(**{k: v for k, v in hp.items() if k != "stage"})
    module.load_state_dict(checkpoint["state_dict"])
    return module.eval()


def load_target(path: str | Path, task: str) -> TargetEncoder | TargetDAE:
    """The stage-2 model of ``task`` in checkpoint ``path`` (``ckpt=``), in eval mode."""
    return load_stage(path, task, "target", f"train it with `python -m da_vae train task.name={task}` or pass "
                      "ckpt=<a stage-2 last.ckpt under runs/da_vae/>")


@torch.no_grad()
def frame_latents(module: TargetEncoder | TargetDAE, raw: np.ndarray, domain: str, batch: int = 1024) -> np.ndarray:
    """Per-frame latent mu ``(n, L)`` of raw features ``(n, F)``: the source encoder for ``domain="source"``,
    the target encoder otherwise, each applied to the segment centred on the frame."""
    encoder = module.source if domain == "source" else module.target_model
    encoder = encoder.encoder if hasattr(encoder, "decoder") else encoder
    frames = module.hparams.frames
    x = torch.from_numpy(np.ascontiguousarray(raw, dtype=np.float32))
    padded = module.normalise(torch.nn.functional.pad(x, (0, 0, frames // 2, frames - 1 - frames // 2)), domain)
    return torch.cat([encoder.sliding_mu(padded[s : s + batch + frames - 1], frames)
                      for s in range(0, len(x), batch)]).numpy()


def dtw_path(X: np.ndarray, Y: np.ndarray, metric: str = "euclidean") -> np.ndarray:
    """DTW path ``(K, 2)`` of (X frame, Y frame) between ``X (N, d)`` and ``Y (M, d)``; exact up to
    ``EXACT_DTW_CELLS`` cells, multiscale (``common.dtw.multiscale_dtw``) beyond."""
    if len(X) * len(Y) <= EXACT_DTW_CELLS:
        return dtw(cost_matrix(X.T.astype(np.float32), Y.T.astype(np.float32), metric))[1]
    return multiscale_dtw(X.T, Y.T, metric)[1]


def midi_to_audio_path(module: TargetEncoder, midi: pretty_midi.PrettyMIDI, audio: np.ndarray,
                       n_midi_frames: int | None = None) -> np.ndarray:
    """Task 1 with the proposed features: path ``(K, 2)`` of (MIDI frame, audio frame).

    ``audio`` is mono at the model's sample rate; the MIDI is read on ``n_midi_frames`` frames (default:
    up to its last event)."""
    f = module.hparams.features
    hop = features.hop_length(f["sample_rate"], f["hop_ms"])
    n = n_midi_frames or features.midi_frames(midi, hop / f["sample_rate"])
    roll = features.piano_roll(midi, n, hop / f["sample_rate"])
    mel = features.log_mel(features.zscore(audio), f["sample_rate"], f["n_fft"], hop, f["n_mels"])
    return dtw_path(frame_latents(module, roll, "source"), frame_latents(module, mel, "target"))


def retime_midi(midi: pretty_midi.PrettyMIDI, path: np.ndarray, hop_seconds: float) -> pretty_midi.PrettyMIDI:
    """A copy of ``midi`` whose events are moved along ``path`` (MIDI frame, audio frame) onto audio time.

    Each MIDI frame maps to the mean audio time of its path cells, times in between are interpolated and
    times after the last frame keep their distance to it. Only event times change (notes, controllers,
    pitch bends, meta events); the tempo map is kept, so the file stays valid however steep the path is.
    """
    rows, inverse = np.unique(path[:, 0], return_inverse=True)
    original = rows * hop_seconds
    new = np.maximum.accumulate(np.bincount(inverse, weights=path[:, 1]) / np.bincount(inverse) * hop_seconds)

    def warp(t: float) -> float:
        return float(np.interp(t, original, new) if t <= original[-1] else new[-1] + t - original[-1])

    out = copy.deepcopy(midi)
    for inst in out.instruments:
        for note in inst.notes:
            note.start, note.end = warp(note.start), max(warp(note.end), warp(note.start) + 1e-3)
        for event in (*inst.control_changes, *inst.pitch_bends):
            event.time = warp(event.time)
    for event in (*out.time_signature_changes, *out.key_signature_changes, *out.lyrics, *out.text_events):
        event.time = warp(event.time)
    return out


@torch.no_grad()
def separate_voice(module: TargetDAE, mixture: np.ndarray, hop_frames: int = 5, batch: int = 256) -> np.ndarray:
    """Task 3: the voice in mono ``mixture`` (samples,) at the model's rate -> voice (samples,).

    The mixture is z-scored and its |STFT| taken on the training frame grid (the model's n_fft and hop, as in
    ``da_vae.data``); the DAE estimates the voice magnitude of overlapping T-frame segments (every
    ``hop_frames`` frames, averaged where they overlap), each within [0, mixture magnitude]; the estimate
    gets the mixture phase and the scale back. The accompaniment is ``mixture - voice``.
    """
    f = module.hparams.features
    hop, T = features.hop_length(f["sample_rate"], f["hop_ms"]), module.hparams.frames
    mixture = np.asarray(mixture, dtype=np.float32)
    mean, scale = float(mixture.mean()), max(float(mixture.std()), 1e-8)
    S = spectral.stft(torch.from_numpy((mixture - mean) / scale), f["n_fft"], hop)  # (bins, frames)
    magnitude = spectral.magnitude(S).T  # (frames, bins)
    n = magnitude.shape[0]
    padded = torch.nn.functional.pad(magnitude, (0, 0, 0, max(0, T - n)))
    starts = sorted(set(range(0, len(padded) - T + 1, hop_frames)) | {len(padded) - T})
    segments = torch.stack([padded[s : s + T] for s in starts])
    estimates = torch.cat([module.separate(chunk) for chunk in segments.split(batch)])
    total, count = torch.zeros_like(padded), torch.zeros(len(padded), 1)
    for s, estimate in zip(starts, estimates):
        total[s : s + T] += estimate
        count[s : s + T] += 1
    voice_magnitude = (total / count)[:n]
    mask = (voice_magnitude / magnitude.clamp_min(1e-8)).clamp(max=1.0).T
    voice = spectral.istft(S * mask, f["n_fft"], hop, length=len(mixture))
    return voice.numpy() * scale
