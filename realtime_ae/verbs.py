"""The verbs of ``python -m realtime_ae`` (imported only when a verb runs, so ``--help`` and ``config`` stay
light)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from common import checks
from common.audio import save_audio
from common.errors import InputError
from common.lightning.registry import DefaultModel
from realtime_ae import data, training

log = logging.getLogger("realtime_ae")


def checkpoint(cfg: DictConfig) -> Path:
    """``ckpt`` if given, else this run's ``last.ckpt`` if `train` made one, else the eval's synth model."""
    from realtime_ae.experiments import default_checkpoint

    if cfg.ckpt:
        return Path(cfg.ckpt)
    own = training.last_checkpoint(cfg)
    return own if own.is_file() else default_checkpoint(cfg)


def default_models(cfg: DictConfig) -> list[DefaultModel]:
    from realtime_ae.experiments import default_checkpoint

    return [DefaultModel("the synthesizer's autoencoder (2-unit sigmoid bottleneck + chroma skip, one-octave "
                         "corpus; eval seed 0, one thread)", default_checkpoint(cfg),
                         "render, resynth, play, export (when run.name has no checkpoint of its own)",
                         "make eval-realtime (or python -m realtime_ae train: then the verbs take that model)",
                         also="synth.decoder=path/to/decoder.onnx for the synth")]


def synth_runtime(cfg: DictConfig):
    """The decoder the synth runs: ``synth.decoder`` if given, else the checkpoint exported next to itself
    (``<run>/export/``, re-exported when the checkpoint is newer) in the ``synth.backend`` format."""
    from realtime_ae.runtime import FILES, DecoderRuntime

    if cfg.synth.backend not in FILES:
        raise InputError(f"synth.backend={cfg.synth.backend!r}: use one of {', '.join(FILES)}")
    if cfg.synth.decoder:
        return DecoderRuntime(cfg.synth.decoder)
    ckpt = checkpoint(cfg)
    out = ckpt.parent.parent / "export"
    path = out / FILES[cfg.synth.backend]
    if not path.is_file() or not ckpt.is_file() or path.stat().st_mtime < ckpt.stat().st_mtime:
        _export(cfg, ckpt, out)
    return DecoderRuntime(path)


def _export(cfg: DictConfig, ckpt: Path, out: Path) -> dict:
    from realtime_ae.export import export_decoder
    from realtime_ae.module import load_model

    module = load_model(ckpt)
    try:
        corpus = data.PreparedCorpus(data.prepare(cfg))
    except InputError as err:
        log.warning("latent slider ranges without the training corpus (%s)", err)
        corpus = None
    return export_decoder(module, out, corpus)


def prepare(cfg: DictConfig, args: argparse.Namespace) -> None:
    corpus = data.PreparedCorpus(data.prepare(cfg))
    counts = {s: len(corpus.split_rows(s)) for s in data.SPLITS}
    print(f"{corpus.directory}: frames {counts}, {corpus.index['silent_dropped']} silent frames dropped")


def export(cfg: DictConfig, args: argparse.Namespace) -> None:
    ckpt = checkpoint(cfg)
    paths = _export(cfg, ckpt, Path(args.out) if args.out else ckpt.parent.parent / "export")
    print("\n".join(f"{k}: {v}" for k, v in paths.items()))


def render(cfg: DictConfig, args: argparse.Namespace) -> None:
    from realtime_ae.synth import check_synth, make_engine, read_trajectory, render_trajectory

    check_synth(cfg.synth)
    out = checks.output_file(args.out, "--out", (".wav", ".flac", ".ogg"), inputs=[args.trajectory])
    checks.input_file(args.trajectory, "trajectory", "CSV file")
    runtime = synth_runtime(cfg)
    rows = read_trajectory(args.trajectory, runtime.meta)
    audio = render_trajectory(make_engine(runtime, cfg.synth), rows)  # limited below full scale by the engine
    print(f"wrote {save_audio(out, audio, runtime.meta['sample_rate'])}")


def resynth(cfg: DictConfig, args: argparse.Namespace) -> None:
    from realtime_ae.module import load_model
    from realtime_ae.synth import check_synth, resynthesise

    check_synth(cfg.synth)
    source = checks.input_file(args.input, "input", "audio file")
    out = checks.output_file(args.out, "--out", (".wav", ".flac", ".ogg"), inputs=[source])
    audio, sr = resynthesise(load_model(checkpoint(cfg)), source, cfg.synth.latent_scale)
    peak = float(np.abs(audio).max())
    print(f"wrote {save_audio(out, audio / peak * 0.9 if peak > 0.9 else audio, sr)}")


def play(cfg: DictConfig, args: argparse.Namespace) -> None:
    from realtime_ae.gui import require_output_device, run
    from realtime_ae.synth import check_synth, make_engine

    check_synth(cfg.synth)
    require_output_device()  # before loading anything: no sound card is a one-line answer
    runtime = synth_runtime(cfg)
    run(make_engine(runtime, cfg.synth), runtime.meta, args.midi)
