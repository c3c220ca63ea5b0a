"""Audio file I/O: load any wav/flac/ogg/mp3 as float32 at a chosen rate, save by extension.

Decoding uses soundfile (its wheels bundle libsndfile with mp3 support); resampling uses soxr at
``soxr_hq``, the same resampler and output length as ``librosa.load(path, sr=...)``, so the two agree.

Shapes: mono audio is ``(samples,)``; anything else is ``(channels, samples)``. Every problem with a
file (missing, empty, undecodable, no samples, NaN/inf samples) raises :class:`AudioError`, a
``ValueError`` and an ``InputError`` (printed by the CLI as one line) naming the file and what to do.
"""

from __future__ import annotations

import logging
import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile as sf
import soxr

from common.errors import InputError

ChannelPolicy = Literal["mono", "stereo", "keep"]

RESAMPLE_QUALITY = "soxr_hq"

# extension -> (libsndfile format, default subtype). FLAC has no float subtype, hence 24-bit PCM.
WRITE_FORMATS = {
    ".wav": ("WAV", "FLOAT"),
    ".flac": ("FLAC", "PCM_24"),
    ".ogg": ("OGG", "VORBIS"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
}


log = logging.getLogger(__name__)


class AudioError(InputError, ValueError):
    """An audio file is missing, empty, undecodable or holds unusable samples."""


@dataclass(frozen=True)
class AudioInfo:
    """Header facts of an audio file; ``duration`` is in seconds."""

    sample_rate: int
    channels: int
    frames: int
    duration: float
    format: str
    subtype: str


def _open(path: Path) -> sf.SoundFile:
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not an audio file; give one file (a folder is taken only by "
                         "the verbs that say so)")
    if not path.is_file():
        raise AudioError(f"{path}: file not found; check the path (or re-run `prepare` for dataset files)")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: file is empty (0 bytes); re-download or re-export it")
    try:
        f = sf.SoundFile(path)
    except sf.SoundFileError as exc:
        raise _decode_error(path, exc) from exc
    promised = wav_header_frames(path)
    if promised is not None and promised > f.frames:
        log.warning("%s: truncated: its header promises %d frames but the file holds %d (%.2f of %.2f s); using "
                    "what is there, re-export the file to silence this", path, promised, f.frames,
                    f.frames / f.samplerate, promised / f.samplerate)
    return f


def wav_header_frames(path: Path) -> int | None:
    """The frame count a RIFF/WAVE header promises (data chunk size / block align); None for other files or
    headers that don't say (streamed WAVs write 0 or 0xFFFFFFFF)."""
    with open(path, "rb") as handle:
        if handle.read(4) != b"RIFF" or handle.read(8)[4:] != b"WAVE":
            return None
        block_align = None
        while len(header := handle.read(8)) == 8:
            chunk, size = header[:4], struct.unpack("<I", header[4:])[0]
            if chunk == b"fmt ":
                block_align = struct.unpack("<HHIIH", handle.read(14))[4]
                handle.seek(size - 14 + (size & 1), 1)
            elif chunk == b"data":
                return size // block_align if block_align and size not in (0, 0xFFFFFFFF) else None
            else:
                handle.seek(size + (size & 1), 1)
    return None


def _decode_error(path: Path, exc: Exception) -> AudioError:
    reason = getattr(exc, "error_string", None) or str(exc).splitlines()[0]
    return AudioError(
        f"{path}: cannot decode audio ({reason}); the file is corrupt or not wav/flac/ogg/mp3, "
        "re-export or remove it"
    )


def audio_info(path: str | os.PathLike) -> AudioInfo:
    """Sample rate, channel count, frame count and duration (seconds) of ``path``, without decoding it."""
    path = Path(path)
    with _open(path) as f:
        return AudioInfo(f.samplerate, f.channels, f.frames, f.frames / f.samplerate, f.format, f.subtype)


def load_audio(
    path: str | os.PathLike,
    sample_rate: int,
    channels: ChannelPolicy = "mono",
    offset: float = 0.0,
    duration: float | None = None,
) -> np.ndarray:
    """Decode ``path`` to float32 at ``sample_rate`` Hz.

    ``channels``:
      - ``"mono"``: average all channels -> ``(samples,)`` (what ``librosa.load`` does);
      - ``"stereo"``: ``(2, samples)``; a mono file is duplicated, more than 2 channels is an error;
      - ``"keep"``: the file's channels -> ``(channels, samples)``, even for a mono file.

    ``offset`` and ``duration`` (seconds, of the original file) select a part, as in ``librosa.load``.
    The result has as many samples as ``librosa.load`` gives (see :func:`resample`).
    """
    if channels not in ("mono", "stereo", "keep"):
        raise ValueError(f"channels must be 'mono', 'stereo' or 'keep', got {channels!r}")
    path = Path(path)
    with _open(path) as f:
        native_rate, n_channels = f.samplerate, f.channels
        if channels == "stereo" and n_channels > 2:
            raise AudioError(
                f"{path}: has {n_channels} channels but channels='stereo' needs 1 or 2; "
                "use channels='mono' or 'keep'"
            )
        start = int(offset * native_rate)
        frames = -1 if duration is None else int(duration * native_rate)
        if start >= f.frames:
            frames = 0  # past the end: reported as "no samples" below
        try:
            if start and frames:
                f.seek(start)
            audio = f.read(frames=frames, dtype="float32", always_2d=True).T  # (channels, samples)
        except (sf.SoundFileError, RuntimeError) as exc:
            raise _decode_error(path, exc) from exc

    if audio.shape[1] == 0:
        where = f" at offset {offset} s" if offset else ""
        raise AudioError(f"{path}: has no audio samples{where}; re-export it or drop it from the dataset")
    n_bad = audio.size - int(np.isfinite(audio).sum())
    if n_bad:
        raise AudioError(f"{path}: contains {n_bad} NaN/inf samples; repair or re-export the file")

    if channels == "mono":
        audio = np.mean(audio, axis=0)
    audio = resample(audio, native_rate, sample_rate)
    if channels == "stereo" and n_channels == 1:
        audio = np.concatenate([audio, audio])
    return np.ascontiguousarray(audio)


def resample(audio: np.ndarray, orig_rate: float, target_rate: float) -> np.ndarray:
    """Band-limited soxr (``soxr_hq``) resampling along the last axis of a float array.

    Output length is ``ceil(samples * (target_rate / orig_rate))`` in float64, zero-padded or trimmed
    to it, exactly as ``librosa.resample(..., res_type="soxr_hq")``.
    """
    if orig_rate == target_rate:
        return audio
    # ratio first, as librosa does: its rounding sometimes adds one sample, and we match librosa's length
    n_out = math.ceil(audio.shape[-1] * (float(target_rate) / orig_rate))
    out = soxr.resample(audio.T, orig_rate, target_rate, quality=RESAMPLE_QUALITY).T
    if out.shape[-1] >= n_out:
        return out[..., :n_out]
    return np.pad(out, [(0, 0)] * (out.ndim - 1) + [(0, n_out - out.shape[-1])])


def save_audio(
    path: str | os.PathLike, audio, sample_rate: int, subtype: str | None = None
) -> Path:
    """Write ``audio`` (``(samples,)`` or ``(channels, samples)``, numpy or torch) to ``path``.

    The container comes from the extension (.wav, .flac, .ogg, .mp3); parent directories are created.
    Default subtypes: 32-bit float WAV (lossless round trip), 24-bit FLAC, Vorbis, MP3; pass
    ``subtype`` (e.g. ``"PCM_16"``) to override. Integer subtypes clip samples to [-1, 1].
    """
    path = Path(path)
    try:
        container, default_subtype = WRITE_FORMATS[path.suffix.lower()]
    except KeyError:
        raise ValueError(
            f"{path}: unsupported extension {path.suffix!r}; use one of {', '.join(WRITE_FORMATS)}"
        ) from None
    if hasattr(audio, "detach"):
        audio = audio.detach().cpu().numpy()
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim not in (1, 2) or (audio.ndim == 2 and audio.shape[0] > audio.shape[1]):
        raise ValueError(
            f"{path}: audio must be (samples,) or (channels, samples), got shape {audio.shape}"
        )
    if not np.isfinite(audio).all():
        raise AudioError(f"{path}: refusing to write NaN/inf samples; check the model output")
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio.T, sample_rate, format=container, subtype=subtype or default_subtype)
    return path
