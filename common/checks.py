"""Checks every verb makes on its arguments before any work starts, each failing as one ``InputError`` line
that names the option and the value and says what to do.

- :func:`input_file` / :func:`input_folder`: a missing path and a file-vs-folder mix-up are told apart;
- :func:`output_file`: a known extension, never one of the inputs, a folder that can be written;
- :func:`finite`: a number (not NaN or inf) inside an allowed interval;
- :func:`within`: a value inside what a model was trained on (a pitch range stored in its checkpoint, say),
  or a one-line warning when ``strict`` is off.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable
from pathlib import Path

from common.errors import InputError

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")


def input_file(path: str | os.PathLike, option: str, what: str = "file", hint: str = "") -> Path:
    """``path`` as an existing file; ``what`` names the expected content ("MIDI file", "audio file")."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{option} {path}: is a folder, not a {what}; give one {what}")
    if not path.is_file():
        raise InputError(f"{option} {path}: no such {what}" + (f"; {hint}" if hint else "; check the path"))
    return path


def input_folder(path: str | os.PathLike, option: str, what: str = "folder", hint: str = "") -> Path:
    """``path`` as an existing folder."""
    path = Path(path)
    if path.is_file():
        raise InputError(f"{option} {path}: is a file, not a {what}; give a {what}")
    if not path.is_dir():
        raise InputError(f"{option} {path}: no such {what}" + (f"; {hint}" if hint else "; check the path"))
    return path


def output_file(path: str | os.PathLike, option: str = "--out", extensions: Iterable[str] = AUDIO_EXTENSIONS,
                inputs: Iterable[str | os.PathLike] = ()) -> Path:
    """``path`` checked for writing before the work: its extension is one of ``extensions``, it is none of
    ``inputs`` (the user's files are never overwritten), it is not a folder, and its folder exists or can be made
    and is writable. Creates the folder; writes nothing else."""
    path = Path(path)
    extensions = tuple(extensions)
    if path.suffix.lower() not in extensions:
        raise InputError(f"{option} {path}: unknown extension {path.suffix or '(none)'!r}; use one of "
                         f"{', '.join(extensions)}")
    if path.is_dir():
        raise InputError(f"{option} {path}: is a folder; give a file name such as {path / ('out' + extensions[0])}")
    for source in inputs:
        source = Path(source)
        if source.exists() and path.exists() and os.path.samefile(source, path):
            raise InputError(f"{option} {path}: is the input file {source}; choose another output name (inputs "
                             "are never overwritten)")
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"{option} {path}: cannot create the folder {folder} ({err.strerror or err}); choose "
                         "a writable place") from None
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InputError(f"{option} {path}: {folder if not os.access(folder, os.W_OK) else path} is not "
                         "writable; choose a writable place")
    return path


def finite(option: str, value: float, low: float | None = None, high: float | None = None,
           hint: str = "") -> float:
    """``value`` as a float that is finite and in ``[low, high]`` (either bound may be None)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{option}={value!r}: not a number") from None
    bounds = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
    if not math.isfinite(number) or (low is not None and number < low) or (high is not None and number > high):
        raise InputError(f"{option}={value}: must be a finite number in {bounds}" + (f"; {hint}" if hint else ""))
    return number


def within(option: str, values: Iterable[float], low: float, high: float, what: str, unit: str = "",
           strict: bool = True) -> None:
    """Every value of ``values`` inside ``[low, high]``, ``what`` the range's source ("the pitches this model was
    trained on"). Outside: an ``InputError`` when ``strict``, else a one-line warning (the work goes on)."""
    values = [float(v) for v in values]
    outside = [v for v in values if not low <= v <= high]
    if not outside:
        return
    message = (f"{option}: {len(outside)} of {len(values)} values outside {what} [{low:g}, {high:g}]{unit} "
               f"(from {min(outside):g} to {max(outside):g}{unit})")
    if strict:
        raise InputError(message + "; bring them inside that range")
    log.warning("%s; the output there is an extrapolation", message)
