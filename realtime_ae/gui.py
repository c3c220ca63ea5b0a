"""``play``: a tkinter window (a slider per latent unit, 12 chroma buttons, volume) driving the engine,
streamed to the sound card through PortAudio (sounddevice); MIDI note-on sets the chroma and the volume
(velocity / 127), note-off of the sounding note silences it."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
import tkinter as tk
from pathlib import Path

import numpy as np

from common.errors import InputError
from realtime_ae.engine import SynthEngine

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


class SynthWindow:
    """The controls. ``latent_min``/``latent_max`` (per unit) set the slider ranges."""

    def __init__(self, root: tk.Tk, engine: SynthEngine, latent_min: list[float], latent_max: list[float],
                 title: str = "realtime_ae synth"):
        self.root, self.engine = root, engine
        root.title(title)
        self.latent = []
        sliders = tk.LabelFrame(root, text="latent")
        sliders.pack(side=tk.LEFT, fill=tk.Y, padx=6, pady=6)
        for i, (low, high) in enumerate(zip(latent_min, latent_max)):
            var = tk.DoubleVar(value=(low + high) / 2)
            tk.Scale(sliders, from_=high, to=low, resolution=(high - low) / 200 or 0.01, variable=var,
                     label=f"z{i}", length=220, command=lambda _=None: self._latent_changed()).pack(side=tk.LEFT)
            self.latent.append(var)
        notes = tk.LabelFrame(root, text="chroma")
        notes.pack(side=tk.LEFT, fill=tk.Y, padx=6, pady=6)
        self.note = tk.IntVar(value=0)
        for k, name in enumerate(NOTE_NAMES):
            tk.Radiobutton(notes, text=name, value=k, variable=self.note, indicatoron=False, width=4,
                           command=lambda: engine.set_chroma(self.note.get())).grid(row=k % 6, column=k // 6)
        self.volume = tk.DoubleVar(value=engine.target_volume)
        tk.Scale(root, from_=1.0, to=0.0, resolution=0.01, variable=self.volume, label="volume", length=220,
                 command=lambda _=None: engine.set_volume(self.volume.get())).pack(side=tk.LEFT, padx=6)
        self._latent_changed()

    def _latent_changed(self) -> None:
        self.engine.set_latent([v.get() for v in self.latent])

    def show_note(self, pitch_class: int, volume: float) -> None:
        """Mirror a MIDI note in the controls (called on the Tk thread)."""
        self.note.set(pitch_class)
        self.volume.set(volume)


def midi_event(message, sounding: int | None) -> tuple[int | None, float | None, int | None]:
    """A mido message -> (pitch class to set or None, volume to set or None, the sounding note afterwards).
    note-on with velocity > 0 sounds its note; note-off (or velocity 0) of the sounding note silences it."""
    if message.type == "note_on" and message.velocity > 0:
        return message.note % 12, message.velocity / 127, message.note
    if message.type in ("note_on", "note_off") and message.note == sounding:
        return None, 0.0, None
    return None, None, sounding


def require_output_device():
    """The sounddevice module, or ``InputError`` in one line when there is no PortAudio or no output device."""
    try:
        import sounddevice as sd
    except OSError:
        raise InputError("no PortAudio library (install libportaudio2); `render` writes the audio offline") from None
    try:
        sd.query_devices(kind="output")
    except Exception:
        raise InputError("no sound card: PortAudio finds no output device; `python -m realtime_ae render "
                         "trajectory.csv --out out.wav` writes the audio offline") from None
    return sd


def open_output(engine: SynthEngine):
    """A started sounddevice OutputStream pulling blocks from ``engine``."""
    sd = require_output_device()

    def callback(outdata, frames, time, status):
        np.clip(engine.next_block(outdata[:, 0]), -1.0, 1.0, out=outdata[:, 0])

    stream = sd.OutputStream(samplerate=engine.sample_rate, blocksize=engine.hop, channels=1, dtype="float32",
                             callback=callback, latency="low")
    stream.start()
    return stream


def open_midi(port: str, on_event):
    """Open MIDI input ``port`` (mido + python-rtmidi), calling ``on_event(message)`` per message."""
    try:
        import mido

        names = mido.get_input_names()
    except Exception as err:
        raise InputError(f"--midi {port}: no MIDI system available ({type(err).__name__}); play without --midi "
                         "or use `render`") from None
    if port not in names:
        raise InputError(f"--midi {port}: no such MIDI input port; available: {', '.join(names) or 'none'}")
    return mido.open_input(port, callback=on_event)


def run(engine: SynthEngine, meta: dict, midi_port: str | None = None) -> None:
    """Open the window, the audio stream and the MIDI port; returns when the window closes."""
    stream = open_output(engine)
    try:
        root = tk.Tk()
    except tk.TclError:
        stream.close()
        raise InputError("no display for the synth window (DISPLAY unset?); `render` works without one") from None
    window = SynthWindow(root, engine, meta["latent_min"], meta["latent_max"])
    midi, state = None, {"sounding": None}
    if midi_port:
        def on_event(message):
            pitch, volume, state["sounding"] = midi_event(message, state["sounding"])
            if pitch is not None:
                engine.set_chroma(pitch)
            if volume is not None:
                engine.set_volume(volume)
                root.after(0, window.show_note, pitch if pitch is not None else window.note.get(), volume)

        try:
            midi = open_midi(midi_port, on_event)
        except InputError:
            stream.close()
            root.destroy()
            raise
    try:
        root.mainloop()
    finally:
        stream.close()
        if midi is not None:
            midi.close()


@contextlib.contextmanager
def virtual_display():
    """An Xvfb display name for the duration of the block (``InputError`` when Xvfb is not installed)."""
    if shutil.which("Xvfb") is None:
        raise InputError("Xvfb is not installed (Debian package xvfb, see scripts/install_system.sh)")
    display = f":{90 + os.getpid() % 400}"
    server = subprocess.Popen(["Xvfb", display, "-screen", "0", "1024x600x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        yield display
    finally:
        server.terminate()
        server.wait(timeout=10)


def screenshot(decoder: str | Path, display: str, path: str | Path, latent: list[float] | None = None) -> dict:
    """Open the window for exported ``decoder`` on X display ``display`` in a child process (so no X connection
    of this process outlives the display), optionally move the sliders to ``latent``, save a PNG to ``path``.
    Returns ``{"sliders": n, "target_z": [...], "size": [w, h]}`` as the child saw them."""
    import json
    import sys

    command = [sys.executable, "-m", "realtime_ae.gui", str(decoder), display, str(path), json.dumps(latent or [])]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise InputError(f"synth window on {display} failed: {result.stderr.strip().splitlines()[-1:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _screenshot_main(decoder: str, display: str, path: str, latent: str) -> None:
    import json

    from PIL import ImageGrab

    from realtime_ae.runtime import DecoderRuntime

    runtime = DecoderRuntime(decoder)
    m = runtime.meta
    engine = SynthEngine(runtime.decode, m["bottleneck"], m["sample_rate"], m["n_fft"], m["hop_length"])
    root = tk.Tk(screenName=display)
    window = SynthWindow(root, engine, m["latent_min"], m["latent_max"])
    root.geometry("+0+0")
    for _ in range(20):
        root.update()
        time.sleep(0.02)
    for var, value in zip(window.latent, json.loads(latent)):
        var.set(value)
    window._latent_changed()
    root.update()
    size = [root.winfo_width(), root.winfo_height()]
    image = ImageGrab.grab(bbox=(0, 0, *size), xdisplay=display)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    print(json.dumps({"sliders": len(window.latent), "target_z": engine.target_z.tolist(), "size": size}))


if __name__ == "__main__":
    import sys

    _screenshot_main(*sys.argv[1:5])
