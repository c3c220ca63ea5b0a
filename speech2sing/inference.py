"""Speech + melody -> singing with a trained checkpoint (the ``convert`` verb and the evaluation)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from common import checks
from common.audio import load_audio
from common.errors import InputError
from speech2sing import features as fx
from speech2sing.module import Speech2SingModule

# the systems `convert` takes, and why it refuses the others
CONVERT_SYSTEMS = ("p_mtl", "p_mse", "allnorm", "b2")
REFUSED = {"b1": "ignores the melody (Baseline 1 has no melody input)",
           "phsync": "needs the phone timings of speech and singing (PhSync)",
           "singing_ae": "reads singing, not speech (the Singing Autoencoder)"}
MIDI_SUFFIXES, CSV_SUFFIXES = {".mid", ".midi"}, {".csv", ".txt"}
# log(1 + |S|) of audio within [-1, 1] is at most log(513) = 6.2 (1024-point Hann window); an output beyond 30
# (|S| ~ 1e13) comes from a network whose training diverged
MAX_LOG_MAGNITUDE = 30.0


def melody_contour(path: str | Path, sample_rate: int, hop: int, fmin: float = 65.0, fmax: float = 1000.0
                   ) -> np.ndarray:
    """Per-frame F0 (Hz, 0 = unvoiced) of a melody file: MIDI notes, a ``time_s,hz`` CSV, or pYIN on a sung or
    hummed recording (leading and trailing unvoiced frames dropped)."""
    path = checks.input_file(path, "--melody", "melody file", "give a MIDI file, a time,Hz CSV or a sung/hummed wav")
    frame_s = hop / sample_rate
    if path.suffix.lower() in MIDI_SUFFIXES:
        f0 = fx.midi_contour(path, frame_s)
    elif path.suffix.lower() in CSV_SUFFIXES:
        f0 = fx.csv_contour(path, frame_s)
    else:
        f0 = fx.trim_unvoiced(fx.pyin_contour(load_audio(path, sample_rate), sample_rate, hop, fmin, fmax))
    if not (f0 > 0).any():
        raise InputError(f"--melody {path}: no voiced frame in the melody; give a melody with notes or pitch")
    return f0


def prepare_speech(module: Speech2SingModule, speech: np.ndarray, n_frames: int, name: str = "speech"
                   ) -> np.ndarray:
    """X ``(F, n_frames)``: silent runs removed, uniformly stretched, log(1 + |S|); ``InputError`` if silent."""
    f = module.hparams.features
    if len(speech) == 0 or float(np.abs(speech).max()) < 1e-4:
        raise InputError(f"{name}: the speech is silent; give a recording with audible speech")
    voiced = fx.remove_silence(speech, f["hop_length"], f["silence_db"], f["silence_run"])
    D = fx.complex_stft(voiced, f["n_fft"], f["hop_length"])
    if D.shape[1] < 4:
        raise InputError(f"{name}: under {4 * f['hop_length'] / f['sample_rate']:.2f} s of speech after silence "
                         "removal; give a longer recording")
    return fx.log_magnitude(fx.phase_vocoder(D, fx.uniform_positions(D.shape[1], n_frames), f["hop_length"]))


@torch.no_grad()
def network_outputs(module: Speech2SingModule, X: np.ndarray, f0: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Predicted singing log-magnitude ``(F, T)`` from X ``(F, T)`` and the per-frame F0 (Hz), and the phoneme
    head's class per frame ``(T,)`` (``None`` without the head)."""
    f = module.hparams.features
    C = fx.pitch_image(f0, X.shape[0], f["sample_rate"], f.get("pitch_image", "onehot"))
    y_hat, logits = module(torch.from_numpy(X)[None], torch.from_numpy(C)[None])
    peak = float(y_hat.max())
    if not peak <= MAX_LOG_MAGNITUDE:  # also NaN
        raise InputError(f"{module.checkpoint_path or module.hparams.system_name}: the network outputs log-magnitude "
                         f"{peak:.3g} (a real spectrogram stays below {MAX_LOG_MAGNITUDE:g}): its training diverged; "
                         "retrain it with trainer.gradient_clip_val=1 or a lower optim.lr")
    return y_hat[0].clamp_min(0).numpy(), None if logits is None else logits[0].argmax(0).numpy()


def predict(module: Speech2SingModule, X: np.ndarray, f0: np.ndarray) -> np.ndarray:
    """Predicted singing log-magnitude ``(F, T)`` from X ``(F, T)`` and the per-frame F0 (Hz)."""
    return network_outputs(module, X, f0)[0]


def check_melody(module: Speech2SingModule, f0: np.ndarray, melody: str = "--melody") -> None:
    """A one-line ``InputError`` naming ``melody`` when the contour ``f0`` (Hz per frame, transposed) reaches the
    Nyquist frequency, or leaves the pitch range the checkpoint was trained on (``pitch_range_hz``)."""
    sr = module.hparams.features["sample_rate"]
    voiced = f0[f0 > 0]
    if voiced.max() >= sr / 2:
        raise InputError(f"{melody}: reaches {voiced.max():.0f} Hz, above the Nyquist frequency {sr / 2:.0f} Hz of "
                         f"the model's {sr} Hz audio; lower it with --transpose")
    trained = module.hparams.get("pitch_range_hz")
    if trained:
        low, high = trained
        checks.within(melody, np.unique(np.round(hz_to_midi(voiced), 1)), round(float(hz_to_midi(low)), 1),
                      round(float(hz_to_midi(high)), 1), f"the pitches {module.checkpoint_path or 'this model'} was "
                      "trained on (--transpose shifts the melody)", " MIDI")


def hz_to_midi(hz: np.ndarray | float) -> np.ndarray:
    return 69 + 12 * np.log2(np.asarray(hz, dtype=np.float64) / 440.0)


def convert(module: Speech2SingModule, speech: np.ndarray, f0: np.ndarray, transpose: float = 0.0,
            exponent: float = 1.2, n_iter: int = 40, name: str = "speech", melody: str = "--melody") -> np.ndarray:
    """Sung waveform (the module's sample rate, peak 0.9) of ``speech`` on the contour ``f0`` (Hz per frame)
    shifted by ``transpose`` semitones; ``InputError`` for a system that cannot follow a melody or a melody
    outside the trained range (:func:`check_melody`)."""
    system = module.hparams.system
    where = module.checkpoint_path or "this model"
    if system["source"] != "speech" or system["align"] != "uniform" or not system["melody"]:
        raise InputError(f"{where}: a checkpoint of system {module.hparams.system_name}, which "
                         f"{REFUSED.get(module.hparams.system_name, 'cannot convert speech')}; pass ckpt= a "
                         f"checkpoint of {', '.join(CONVERT_SYSTEMS)}")
    f0 = np.where(f0 > 0, f0 * 2 ** (transpose / 12), 0.0)
    check_melody(module, f0, melody + (f" with --transpose {transpose:+g}" if transpose else ""))
    X = prepare_speech(module, speech, len(f0), name)
    audio = fx.synthesize(predict(module, X, f0), module.hparams.features["hop_length"], exponent, n_iter)
    return (0.9 * audio / max(1e-6, float(np.abs(audio).max()))).astype(np.float32)
