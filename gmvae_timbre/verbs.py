"""The verbs of ``python -m gmvae_timbre`` (imported only when one runs, so ``--help`` and ``config`` stay fast).
Every argument is checked before any work: input files, the output path, finite options inside their ranges,
the checkpoint (through :func:`common.lightning.checkpoint.load_checkpoint`) and what it was trained on."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from omegaconf import DictConfig

from common.audio import save_audio
from common.checks import finite, input_file, input_folder, output_file, within
from common.errors import InputError
from common.lightning.registry import DefaultModel
from gmvae_timbre import data, training

log = logging.getLogger("gmvae_timbre")

MAX_WEIGHT = 4.0  # w: the paper samples at 0, 0.5 and 1
ALPHA = (0.0, 1.0)  # the paper's alpha range


def default_models(cfg: DictConfig) -> list[DefaultModel]:
    return [DefaultModel(
        what=f"M_GMVAE, all instrument labels (N = 100), seed {cfg.eval.seeds[0]}, threads {cfg.eval.threads[0]}: "
             "the eval's model",
        path=training.default_checkpoint(cfg), verbs="synth, transfer, interpolate",
        made_by="python -m gmvae_timbre eval (or: train)",
        also="for interpolate an M_VAE (any gmvae_timbre M_GMVAE for the others)")]


def _model(cfg: DictConfig, kinds: tuple[str, ...] = ("M_GMVAE",)):
    """``ckpt=`` if given, else the default model (see the ``models`` verb), loaded in eval mode."""
    return training.load_model(cfg.ckpt or training.default_checkpoint(cfg), kinds)


def prepare(cfg: DictConfig, args: argparse.Namespace) -> None:
    print(data.data_summary(cfg))


def _write(path: Path, audio, module) -> None:
    print(f"wrote {save_audio(path, audio, module.hparams.features['sample_rate'])}")


def synth(cfg: DictConfig, args: argparse.Namespace) -> None:
    from gmvae_timbre import inference

    out = output_file(args.out)
    weight = finite("--weight", args.weight, 0.0, MAX_WEIGHT, "the variance multiplier w; the paper uses 0-1")
    module = _model(cfg)
    path = cfg.ckpt or training.default_checkpoint(cfg)
    if module.hparams.label_fraction == 0:
        raise InputError(f"{path}: an M_GMVAE trained without instrument labels (N = 0): its mixture components "
                         "are clusters, not instruments; use one trained with labels (data.label_fraction > 0)")
    name = module.hparams.instruments[inference.instrument_index(module, args.instrument)]
    low, high = module.hparams.ranges[name]
    within("--pitch", [args.pitch], low, high, f"the pitches {name} was trained on in {path}")
    _write(out, inference.synthesize(module, name, args.pitch, weight, args.seed, cfg.eval.griffinlim_iters), module)


def transfer(cfg: DictConfig, args: argparse.Namespace) -> None:
    from gmvae_timbre import inference

    note = input_file(args.note, "note", "audio file")
    out = output_file(args.out, inputs=[note])
    alpha = finite("--alpha", args.alpha, *ALPHA, "the fraction of mu_target - mu_source added")
    module = _model(cfg)
    x = inference.read_input(module, note)
    names = module.hparams.instruments
    target = names[inference.instrument_index(module, args.to)]
    if args.source:
        source = names[inference.instrument_index(module, args.source)]
        print(f"source: {source} (--from)")
    else:
        probabilities = inference.instrument_posterior(module, x)[0]
        source = names[int(probabilities.argmax())]
        print(f"source: {source} (inferred, q(y|x) = {float(probabilities.max()):.2f}; --from sets it)")
    snap = cfg.eval.snap_pitch
    if snap:
        print(f"pitch: MIDI {inference.read_pitch(module, x)[0]} (read from the note and decoded as that class; "
              "eval.snap_pitch=false decodes the note's own pitch code)")
    _write(out, inference.transfer(module, x, target, alpha, source, cfg.eval.griffinlim_iters, snap), module)


def interpolate(cfg: DictConfig, args: argparse.Namespace) -> None:
    from gmvae_timbre import inference

    if args.steps < 2:
        raise InputError(f"--steps {args.steps}: give at least 2 (the two notes themselves)")
    a, b = input_file(args.a, "a", "audio file"), input_file(args.b, "b", "audio file")
    folder = Path(args.out_dir) if args.out_dir else a.parent
    if folder.exists():
        input_folder(folder, "--out-dir")
    outs = [output_file(folder / f"{a.stem}_to_{b.stem}_{step:02d}.wav", "--out-dir", inputs=[a, b])
            for step in range(args.steps)]
    module = _model(cfg, ("M_GMVAE", "M_VAE"))
    x_a, x_b = inference.read_input(module, a), inference.read_input(module, b)
    for path, audio in zip(outs, inference.interpolate(module, x_a, x_b, args.steps, cfg.eval.griffinlim_iters)):
        _write(path, audio, module)
