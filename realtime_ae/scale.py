"""What a preset costs at scale (``python -m realtime_ae plan``, ``make plan-realtime GPUS=N CONFIG=paper``): one
training step of the configured autoencoder, described for :mod:`common.plan`."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch
from omegaconf import DictConfig

from common.plan import PlanSpec, run_plan
from realtime_ae import data
from realtime_ae.module import FrameAutoencoder
from realtime_ae.training import build_module

PAPER_TRAIN_FRAMES = 17_000  # the paper's one-octave training set, when no corpus is prepared here


class _Sizes:
    bins = 2049


def prepared(cfg: DictConfig) -> data.PreparedCorpus | None:
    """The prepared corpus of ``data.corpus`` if its cache exists (nothing is built or computed)."""
    try:
        folder = Path(cfg.data.root) / ("scales" if cfg.data.synthetic else "") / cfg.data.corpus
        if not folder.is_dir():
            return None
        cache = data.cache_dir(cfg, data.clip_splits(folder, cfg.data))
    except Exception:  # noqa: BLE001 - no corpus, no loader: the plan says so
        return None
    return data.PreparedCorpus(cache) if (cache / "index.json").is_file() else None


def plan_spec(cfg: DictConfig, world: int) -> PlanSpec:
    corpus = prepared(cfg)
    module: FrameAutoencoder = build_module(cfg, corpus or _Sizes())
    frames = len(corpus.split_rows("train")) if corpus else PAPER_TRAIN_FRAMES
    steps = cfg.trainer.max_steps if cfg.trainer.max_steps > 0 else \
        cfg.trainer.max_epochs * math.ceil(frames / (cfg.data.batch_size * world))

    def make_batch(n: int):
        return torch.rand(n, module.hparams.bins), torch.eye(12)[torch.arange(n) % 12]

    def loader():
        if corpus is None:
            return None
        module_data = data.FrameDataModule(corpus, cfg.data.batch_size)
        module_data.setup()
        return module_data.train_dataloader()

    return PlanSpec(model=module, make_batch=make_batch, loss=lambda batch: module.losses(*batch)["loss"],
                    batch_size=cfg.data.batch_size, max_steps=steps, loader=loader,
                    parts={"encoder": module.net.encoder, "decoder": module.net.decoder},
                    notes=f"Steps: {cfg.trainer.max_epochs} epochs of {frames} training frames "
                          f"({'this corpus' if corpus else 'the paper figure; no corpus prepared'}) at "
                          f"{cfg.data.batch_size} frames per rank. The paper gives no parameter counts.")


def plan(cfg: DictConfig, args: argparse.Namespace) -> None:
    world = (args.gpus or cfg.trainer.devices) * (args.nodes or cfg.trainer.num_nodes)
    run_plan(plan_spec(cfg, world if isinstance(world, int) and world > 0 else 1), cfg, args)
