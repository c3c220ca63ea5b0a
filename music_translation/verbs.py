"""The verbs of ``python -m music_translation``, imported only when one runs (``--help`` and ``config`` stay
fast)."""


from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig
from pytorch_lightning.utilities import rank_zero_only

from common import checks
from common.audio import audio_info, save_audio
from common.lightning.registry import DefaultModel
from common.mulaw import mu_law_decode
from music_translation import data, inference, training


def prepare(cfg: DictConfig, args: argparse.Namespace) -> None:
    root = data.ensure_synthetic(cfg)
    for domain in [*cfg.data.domains, *cfg.data.unseen_domains]:
        print(f"{domain}: {data.prepare_domain(cfg, domain, root)}")


def _module(cfg: DictConfig):
    device = "cuda" if torch.cuda.is_available() and cfg.trainer.accelerator != "cpu" else "cpu"
    return inference.load_module(training.checkpoint_path(cfg), device)


def _generation_args(cfg: DictConfig, module) -> dict:
    t, rate, pool = cfg.translate, module.hparams.sample_rate, module.net.model_args["pool"]
    return dict(chunk_frames=max(1, round(t.chunk_seconds * rate / pool)), seed=t.seed,
                temperature=t.temperature, backend=t.backend)


def translate(cfg: DictConfig, args: argparse.Namespace) -> None:
    """Translate a file to domain ``--to``; writes audio of the input's length at the model's rate."""
    checks.input_file(args.input, "input", "audio file")
    checks.output_file(args.out, "--out", inputs=[args.input])
    module = _module(cfg)
    domain = inference.domain_index(module, args.to)
    rate, pool = module.hparams.sample_rate, module.net.model_args["pool"]
    codes = data.load_file_codes(args.input, rate)
    warmup = max(1, round(cfg.translate.warmup_seconds * rate / pool))
    audio = inference.translate(module, codes, domain, pieces=cfg.translate.pieces, warmup=warmup,
                                progress=True, **_generation_args(cfg, module))
    source_rate = audio_info(args.input).sample_rate
    print(f"wrote {save_audio(args.out, audio, rate)} at {rate} Hz, the model's rate"
          + (f" (the input is at {source_rate:g} Hz)" if source_rate != rate else ""))


def encode(cfg: DictConfig, args: argparse.Namespace) -> None:
    """Write each input's latents as ``<out-dir>/<stem>.npy``: (frames, latent_channels) float32."""
    for path in args.inputs:
        checks.input_file(path, "input", "audio file")
    out = checks.output_file(Path(args.out_dir) / "latent.npy", "--out-dir", (".npy",)).parent
    module = _module(cfg)
    for path in args.inputs:
        codes = data.load_file_codes(path, module.hparams.sample_rate)
        latent = inference.encode(module, codes[None])[0].T.cpu().numpy().astype(np.float32)
        np.save(out / f"{Path(path).stem}.npy", latent)
        print(f"wrote {out / (Path(path).stem + '.npy')} {latent.shape}")


def blend(cfg: DictConfig, args: argparse.Namespace) -> None:
    """Cross-fade the latents of two files over ``translate.blend_seconds`` and decode with ``--to``."""
    for path in (args.a, args.b):
        checks.input_file(path, "input", "audio file")
    checks.output_file(args.out, "--out", inputs=[args.a, args.b])
    module = _module(cfg)
    rate, pool = module.hparams.sample_rate, module.net.model_args["pool"]
    domain = inference.domain_index(module, args.to or module.net.domains[0])
    a, b = (inference.encode(module, data.load_file_codes(p, rate)[None]) for p in (args.a, args.b))
    latent = inference.blend_latents(a, b, max(1, round(cfg.translate.blend_seconds * rate / pool)),
                                     (str(args.a), str(args.b)), pool / rate)
    codes = inference.generate(module, latent, domain, progress=True, **_generation_args(cfg, module))[0]
    print(f"wrote {save_audio(args.out, mu_law_decode(codes.cpu()).numpy(), rate)}")


def domains(cfg: DictConfig, args: argparse.Namespace) -> None:
    module = _module(cfg)
    n = module.net.confusion.net[-1].out_channels
    for i, name in enumerate(module.net.domains):
        print(f"{i}\t{name}\t{'trained with the encoder' if i < n else 'added on the frozen encoder'}")


def add_domain(cfg: DictConfig, args: argparse.Namespace) -> None:
    folder = checks.input_folder(args.folder, "folder", "folder of audio files")
    path = training.add_domain(cfg, folder, args.name)
    if rank_zero_only.rank == 0:
        print(f"checkpoint: {path}")


def default_models(cfg: DictConfig) -> list[DefaultModel]:
    """The checkpoint the verbs use without ``ckpt=``: this run's (seed 0, one thread, of the default eval)."""
    return [DefaultModel(
        what=f"translation network `{cfg.run.name}` (shared encoder, one decoder per domain: "
             f"{', '.join(cfg.data.domains)}); the default eval's seed {cfg.run.seed}, threads 1 model",
        path=training.checkpoint_path(cfg), verbs="translate, encode, blend, domains, add-domain, eval",
        also="run.name=... for another run",
        made_by="make eval-translation (python -m music_translation eval), or python -m music_translation train")]


def plan_spec(cfg: DictConfig):
    """``common.plan.PlanSpec`` of one training step of this preset: the full-size network, a one-domain batch
    of ``data.batch_size`` segments, C's loss plus the autoencoder's (the two optimisation steps of a batch)."""
    import torch.nn.functional as F
    from omegaconf import OmegaConf

    from common.plan import PlanSpec, stand_in_config
    from music_translation.config import MusicTranslationConfig
    from music_translation.models import TranslationNet

    net = TranslationNet(OmegaConf.to_container(cfg.model, resolve=True), list(cfg.data.domains))
    length = data.segment_samples(cfg)

    def loss(batch):
        latent = net.encode(batch["codes"])
        target = torch.zeros(len(batch["codes"]), dtype=torch.long)
        confusion = F.cross_entropy(net.confusion(latent.detach()), target)
        return confusion + net.autoencoder_loss(latent, batch["codes"], 0, cfg.optim.confusion_weight)[0]

    def loader(cfg: DictConfig):
        names = list(cfg.data.domains)
        if not all((data.cache_dir(cfg, d) / "train.json").is_file() for d in names):
            return None
        audio = [data.DomainAudio(cfg, d, "train") for d in names]
        return data.RandomSegmentBatches(audio, cfg.data.batch_size, length, 60, cfg.run.seed)

    def stand_in():
        """The default's synthetic domains, cached at this preset's rate (seconds) if that corpus is built."""
        standin = stand_in_config(cfg, MusicTranslationConfig, "music_translation", ("root", "corpus", "domains"))
        if not (Path(standin.data.root) / "manifest.json").is_file():
            return None
        for domain in standin.data.domains:
            data.prepare_domain(standin, domain)
        return loader(standin)

    return PlanSpec(model=net, make_batch=lambda n: {"codes": torch.randint(0, 256, (n, length))}, loss=loss,
                    batch_size=cfg.data.batch_size, max_steps=cfg.trainer.max_steps,
                    loader=lambda: loader(cfg), stand_in=stand_in,
                    parts={"encoder": net.encoder, "decoders": net.decoders, "confusion": net.confusion},
                    notes="The paper gives sizes (3x10x128 encoder, 4x10x128 decoders, 64-d latent), not parameter "
                          "counts. The pitch augmentation runs batched in the training step on the GPU "
                          "(elementwise, not counted), so the loader only cuts segments. Every rank holds all "
                          "decoders and all-reduces all their gradients each step (docs/music_translation.md).")


def plan(cfg: DictConfig, args: argparse.Namespace) -> None:
    from common.plan import run_plan

    run_plan(plan_spec(cfg), cfg, args)
