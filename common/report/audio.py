"""Audio examples for a report: each row loudness-normalised to one target (ITU-R BS.1770 via pyloudnorm),
written as 16-bit WAV with a spectrogram picture beside each file."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.report.model import Example

log = logging.getLogger(__name__)

TARGET_LUFS = -20.0
PEAK_CEILING = 10 ** (-1.0 / 20)  # -1 dBFS


@dataclass
class WrittenClip:
    role: str
    caption: str
    wav: str  # paths relative to the report folder
    png: str
    seconds: float


@dataclass
class WrittenExample:
    title: str
    clips: list[WrittenClip]
    lufs: float | None  # the row's common loudness, None when every clip is silent


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "example"


def loudness(audio: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness in LUFS; -inf for silence. Clips shorter than the standard 400 ms block are measured
    in one block of their own length."""
    import pyloudnorm

    if audio.size < 2 or not np.any(audio):
        return float("-inf")
    meter = pyloudnorm.Meter(sample_rate, block_size=min(0.4, audio.size / sample_rate))
    return float(meter.integrated_loudness(audio.astype(np.float64)))


def normalise_row(clips: list[np.ndarray], sample_rates: list[int]) -> tuple[list[np.ndarray], float | None]:
    """Scales every clip of a row to one loudness (TARGET_LUFS, lowered for the whole row if any clip would peak
    above -1 dBFS) -> (scaled clips, the row's loudness in LUFS). Silent clips are left silent."""
    levels = [loudness(c, sr) for c, sr in zip(clips, sample_rates)]
    audible = [i for i, level in enumerate(levels) if np.isfinite(level)]
    if not audible:
        return [c.copy() for c in clips], None
    target = TARGET_LUFS
    peaks = [float(np.abs(clips[i]).max()) * 10 ** ((target - levels[i]) / 20) for i in audible]
    if max(peaks) > PEAK_CEILING:
        target -= 20 * np.log10(max(peaks) / PEAK_CEILING)
    scaled = [c * 10 ** ((target - level) / 20) if np.isfinite(level) else c.copy() for c, level in zip(clips, levels)]
    return scaled, float(target)


def write_examples(examples: list[Example], folder: Path) -> list[WrittenExample]:
    """Writes ``folder/examples/<row>-<role>.{wav,png}`` (the folder is emptied first: it belongs to the
    writer) -> what was written, with paths relative to ``folder``."""
    from matplotlib.image import imsave

    from common.audio import save_audio
    from common.images import spectrogram_image

    out = folder / "examples"
    if out.is_dir():
        for stale in out.iterdir():
            if stale.is_file() and stale.suffix in (".wav", ".png"):
                stale.unlink()
    written = []
    for row, example in enumerate(examples):
        audio = []
        for clip in example.clips:
            x = clip.audio.detach().cpu().numpy() if hasattr(clip.audio, "detach") else clip.audio
            x = np.asarray(x, dtype=np.float64).reshape(-1)
            if not np.isfinite(x).all():
                raise ValueError(f"example {example.title!r}, clip {clip.role!r}: audio has NaN/inf samples")
            audio.append(x)
        scaled, lufs = normalise_row(audio, [c.sample_rate for c in example.clips])
        clips = []
        for clip, x in zip(example.clips, scaled):
            stem = f"{row:02d}-{slug(example.title)}-{slug(clip.role)}"
            save_audio(out / f"{stem}.wav", np.clip(x, -1.0, 1.0).astype(np.float32), clip.sample_rate,
                       subtype="PCM_16")
            imsave(out / f"{stem}.png", spectrogram_image(x.astype(np.float32), sample_rate=clip.sample_rate))
            clips.append(WrittenClip(clip.role, clip.caption, f"examples/{stem}.wav", f"examples/{stem}.png",
                                     x.size / clip.sample_rate))
        written.append(WrittenExample(example.title, clips, lufs))
    log.info("wrote %d example rows (%d clips) to %s", len(written), sum(len(w.clips) for w in written), out)
    return written
