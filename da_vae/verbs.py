"""The verbs of ``python -m da_vae`` (imported only when one runs, so ``--help`` stays fast)."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from common.audio import audio_info, load_audio, resample, save_audio
from common.checks import finite, input_file, output_file
from common.errors import InputError
from common.lightning.registry import DefaultModel
from da_vae import data, features, inference, training
from da_vae.config import TASKS


def _checkpoint(cfg: DictConfig, task: str) -> Path:
    """``ckpt=`` if given, else this run's stage-2 model of ``task`` (with the configured task variant)."""
    if cfg.ckpt:
        return Path(cfg.ckpt)
    task_cfg = cfg.copy()
    task_cfg.task.name = task
    return training.last_checkpoint(task_cfg, "target")


def prepare(cfg: DictConfig, args: argparse.Namespace) -> None:
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise InputError(f"--tasks: unknown task(s) {', '.join(unknown)}; use some of {', '.join(TASKS)}")
    for task in tasks:
        print(f"{task}: {data.prepare(cfg, task)}")


def default_models(cfg: DictConfig) -> list[DefaultModel]:
    """The stage-2 models `align` and `separate` take without ``ckpt=`` (those `eval` trains with seed 0)."""
    listed = []
    for task, verb, what in (("midi", "align", "Task 1 target encoder"), ("separation", "separate", "Task 3 DAE")):
        task_cfg = cfg.copy()
        task_cfg.task.name, task_cfg.run.seed = task, 0
        listed.append(DefaultModel(f"{what} (run {cfg.run.name}, seed 0)", training.last_checkpoint(task_cfg, "target"),
                                   verb, f"python -m da_vae eval (or python -m da_vae train task.name={task})",
                                   also="run.name=... for another run's model"))
    return listed


def plan(cfg: DictConfig, args: argparse.Namespace) -> None:
    from common.plan import run_plan
    from da_vae.plan import plan_spec

    training.check_task(cfg)
    run_plan(plan_spec(cfg), cfg, args)


def _long_enough(module, audio, path) -> None:
    """Audio shorter than one of the model's segments cannot be aligned or separated: one line naming it."""
    f = module.hparams.features
    need = features.hop_length(f["sample_rate"], f["hop_ms"]) * (module.hparams.frames - 1) + f["n_fft"]
    if len(audio) < need:
        raise InputError(f"{path}: {len(audio) / f['sample_rate']:.3f} s of audio is shorter than the model's "
                         f"{need / f['sample_rate']:.3f} s segment; give a longer recording")


def align(cfg: DictConfig, args: argparse.Namespace) -> None:
    """Align a MIDI file to a recording; writes ``<audio stem>.path.csv`` and ``<audio stem>.aligned.mid`` into
    ``--out-dir`` (the current directory by default, never the dataset's folder) and prints their paths. Inputs and
    outputs are checked before the work: a folder given as a file, an output that is one of the inputs."""
    audio_path = input_file(args.audio, "--audio", "sound file")
    midi_path = input_file(args.midi, "--midi", "MIDI file")
    stem = Path(args.audio).stem
    path_file, midi_file = (output_file(Path(args.out_dir) / name, "--out-dir", (ext,), (audio_path, midi_path))
                            for name, ext in ((f"{stem}.path.csv", ".csv"), (f"{stem}.aligned.mid", ".mid")))
    module = inference.load_target(_checkpoint(cfg, "midi"), "midi")
    f = module.hparams.features
    audio = load_audio(audio_path, f["sample_rate"])
    _long_enough(module, audio, audio_path)
    midi = features.load_midi(midi_path)
    path = inference.midi_to_audio_path(module, midi, audio)
    hop_seconds = features.hop_length(f["sample_rate"], f["hop_ms"]) / f["sample_rate"]
    with open(path_file, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["midi_frame", "audio_frame", "midi_seconds", "audio_seconds"])
        writer.writerows((m, a, f"{m * hop_seconds:.3f}", f"{a * hop_seconds:.3f}") for m, a in path)
    inference.retime_midi(midi, path, hop_seconds).write(str(midi_file))
    print(f"path: {path_file}\nmidi: {midi_file}")


def separate(cfg: DictConfig, args: argparse.Namespace) -> None:
    """Write ``<stem>_voice.wav`` and ``<stem>_accompaniment.wav`` (mono, the input's rate; they sum to the mono
    mixture) into ``--out-dir`` (the current directory by default) and print their paths; both outputs are
    checked (writable, not the input) before the work."""
    mixture_path = input_file(args.mixture, "mixture", "sound file")
    hop = int(finite("eval.separation_hop_frames", cfg.eval.separation_hop_frames, 1, hint="give a hop of 1 or more"))
    stem = mixture_path.stem
    outputs = [output_file(Path(args.out_dir) / f"{stem}_{part}.wav", "--out-dir", (".wav",), (mixture_path,))
               for part in ("voice", "accompaniment")]
    module = inference.load_target(_checkpoint(cfg, "separation"), "separation")
    rate = module.hparams.features["sample_rate"]
    native = audio_info(mixture_path).sample_rate
    mixture = load_audio(mixture_path, native)
    _long_enough(module, resample(mixture, native, rate), mixture_path)
    voice = inference.separate_voice(module, resample(mixture, native, rate), hop)
    voice = resample(voice, rate, native)
    voice = np.pad(voice, (0, max(0, len(mixture) - len(voice))))[: len(mixture)].astype(np.float32)
    written = [save_audio(outputs[0], voice, native), save_audio(outputs[1], mixture - voice, native)]
    print("\n".join(f"wrote {p}" for p in written))
