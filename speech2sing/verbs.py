"""The verbs of ``python -m speech2sing`` (imported only when one runs, so ``--help`` and ``config`` stay fast)."""


from __future__ import annotations

import argparse
from pathlib import Path

from omegaconf import DictConfig

from common import checks
from common.audio import WRITE_FORMATS, load_audio, save_audio
from common.errors import InputError
from common.lightning.registry import DefaultModel
from speech2sing import catalog, data, inference, training
from speech2sing import features as fx
from speech2sing.config import SYSTEM_NAMES
from speech2sing.module import load_module


def prepare(cfg: DictConfig, args: argparse.Namespace) -> None:
    splits = data.samples(cfg)
    print(f"corpus: {catalog.corpus_root(cfg)}; samples: {len(splits['train'])} train, {len(splits['test'])} test "
          f"(held-out song {cfg.data.test_song})")


def convert(cfg: DictConfig, args: argparse.Namespace) -> None:
    """Convert one speech file, or every audio file of a folder, onto the melody of ``--melody``; every path and
    option is checked before the work."""
    melody = checks.input_file(args.melody, "--melody", "melody file",
                               "give a MIDI file, a time,Hz CSV or a sung/hummed recording")
    transpose = checks.finite("--transpose", args.transpose, -48, 48, "a shift in semitones")
    source = Path(args.speech)
    if source.is_dir():
        inputs = sorted(p for p in source.iterdir() if p.suffix.lower() in WRITE_FORMATS)
        if not inputs:
            raise InputError(f"{source}: the folder holds no audio files ({', '.join(WRITE_FORMATS)})")
        out_dir = Path(args.out or source.parent / f"{source.name}-sung")
        if out_dir.is_file():
            raise InputError(f"--out {out_dir}: is a file, but a folder input needs an output folder")
        outputs = [out_dir / f"{p.stem}.wav" for p in inputs]
    else:
        inputs = [checks.input_file(source, "speech", "audio file", "give a speech recording or a folder of them")]
        outputs = [Path(args.out or source.with_name(f"{source.stem}-sung.wav"))]
    for out in outputs:
        checks.output_file(out, "--out", WRITE_FORMATS, [*inputs, melody])
    module = load_module(cfg.ckpt or training.last_checkpoint(cfg),
                         hint="train one (`python -m speech2sing train system=p_mtl`, or `make eval-speech2sing`; "
                              "`python -m speech2sing models` lists the defaults) or pass ckpt=path/to/last.ckpt")
    f, c = module.hparams.features, cfg.convert
    f0 = inference.melody_contour(melody, f["sample_rate"], f["hop_length"], c.fmin, c.fmax)
    for speech_path, out in zip(inputs, outputs):
        speech = load_audio(speech_path, f["sample_rate"])
        audio = inference.convert(module, speech, f0, transpose, c.exponent, c.griffinlim_iters, str(speech_path),
                                  f"--melody {melody}")
        print(f"wrote {save_audio(out, audio, f['sample_rate'])}")


def default_models(cfg: DictConfig) -> list[DefaultModel]:
    return [DefaultModel(
        what=f"{SYSTEM_NAMES[cfg.system]}, seed {cfg.run.seed}, {cfg.threads or 'default'} torch thread(s) (the eval's "
             "default model is seed 0 on one thread)",
        path=training.last_checkpoint(cfg), verbs="convert",
        made_by=f"make eval-speech2sing (or python -m speech2sing train system={cfg.system})",
        also="system=... / run.name=... for another run of this project")]


def plan(cfg: DictConfig, args: argparse.Namespace) -> None:
    """What training ``system`` with this preset costs at scale (``common.plan``): the full-size network on the
    preset's batch of F x T spectrograms, T the crop or, for whole samples, the mean prepared sample length."""
    import numpy as np
    import torch
    from omegaconf import OmegaConf

    from common.corpora import corpus_status
    from common.plan import PlanSpec, run_plan, stand_in_config
    from speech2sing.config import Speech2SingConfig
    from speech2sing.module import Speech2SingModule

    switches = training.system_switches(cfg)
    module = Speech2SingModule(system_name=cfg.system, system=switches, model=OmegaConf.to_container(cfg.model),
                               optim=OmegaConf.to_container(cfg.optim), features=training.features(cfg))
    bins, frames, source = cfg.data.n_fft // 2 + 1, cfg.data.crop_frames, "the crop"
    try:
        samples = data.samples(cfg, switches["align"])["train"]
    except InputError:  # no corpus there: assume 4 s samples, measure no loader
        samples = None
    if not frames:
        frames, source = ((int(np.mean([s.Y.shape[1] for s in samples])), "the mean training sample") if samples
                          else (250, "assumed: no data prepared"))

    def loader(c: DictConfig):
        module_data = data.PairDataModule(c, switches["align"], switches["source"])
        module_data.setup()
        return module_data.train_dataloader()

    def stand_in():
        standin = stand_in_config(cfg, Speech2SingConfig, "speech2sing", ("root", "synthetic", "corpus_size"))
        return loader(standin) if corpus_status("nus48e", standin.data.root) is not None else None

    def batch(n: int):
        generator = torch.Generator().manual_seed(0)
        X, Y = (torch.rand(n, bins, frames, generator=generator) for _ in range(2))
        C = torch.from_numpy(fx.pitch_image(np.full(frames, 220.0), bins, cfg.data.sample_rate,
                                            cfg.data.pitch_image)).expand(n, -1, -1)
        phones = torch.randint(0, cfg.model.phones, (n, frames), generator=generator)
        return X, C, Y, phones, torch.ones(n, frames, dtype=torch.bool)
    network = module.network
    parts = {"speech encoder": network.speech_encoder, "melody encoder": network.melody_encoder,
             "phoneme head": network.phone_head}
    spec = PlanSpec(model=module, make_batch=batch, loss=lambda b: module.losses(b)["loss"],
                    batch_size=cfg.data.batch_size, max_steps=cfg.trainer.max_steps,
                    loader=lambda: None if samples is None else loader(cfg), stand_in=stand_in,
                    parts={k: m for k, m in parts.items() if m is not None},
                    notes=f"System {cfg.system}; items of {frames} frames ({source}); the paper gives no parameter "
                          "count.")
    run_plan(spec, cfg, args)
