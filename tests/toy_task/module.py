"""Toy LightningModule/DataModule: y = x @ w_true + noise, fitted with Adam."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from common.lightning import BaseConfig
from common.lightning.data import resumable_loader


@dataclass
class ToyData:
    n: int = 512
    features: int = 8
    batch_size: int = 16


@dataclass
class ToyModel:
    lr: float = 0.05
    step_sleep: float = 0.0  # seconds per training step, to give a test time to kill the process
    nan_at_step: int = -1  # make the loss NaN from this global step on (-1: never)
    batchnorm: bool = False  # a BatchNorm1d before the linear layer (running statistics are buffers)
    input_noise: float = 0.0  # std of Gaussian noise added to the inputs in training (draws torch's global RNG)


@dataclass
class ToyEval:
    out: str = "reports/tests.toy_task"


@dataclass
class ToyConfig(BaseConfig):
    data: ToyData = field(default_factory=ToyData)
    model: ToyModel = field(default_factory=ToyModel)
    eval: ToyEval = field(default_factory=ToyEval)


class ToyDataModule(pl.LightningDataModule):
    def __init__(self, cfg: ToyData):
        super().__init__()
        g = torch.Generator().manual_seed(1234)
        x = torch.randn(cfg.n, cfg.features, generator=g)
        w = torch.randn(cfg.features, 1, generator=g)
        y = x @ w + 0.01 * torch.randn(cfg.n, 1, generator=g)
        self.train_set = TensorDataset(x, y)
        self.val_set = TensorDataset(x[:64], y[:64])
        self.batch_size = cfg.batch_size

    def train_dataloader(self):
        return resumable_loader(self.train_set, batch_size=self.batch_size, shuffle=True)

    def val_dataloader(self):
        return DataLoader(self.val_set, batch_size=self.batch_size)


class ToyRegression(pl.LightningModule):
    def __init__(self, cfg: ToyModel, features: int, directory: Path):
        super().__init__()
        self.cfg = cfg
        self.directory = directory
        self.linear = torch.nn.Linear(features, 1)
        self.norm = torch.nn.BatchNorm1d(features) if cfg.batchnorm else torch.nn.Identity()

    def forward(self, x):
        return self.linear(self.norm(x))

    def training_step(self, batch, batch_idx):
        x, y = batch
        if self.cfg.input_noise:
            x = x + self.cfg.input_noise * torch.randn_like(x)
        loss = torch.nn.functional.mse_loss(self(x), y)
        if 0 <= self.cfg.nan_at_step <= self.global_step:
            loss = loss * float("nan")
        if self.cfg.step_sleep:
            time.sleep(self.cfg.step_sleep)
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        if self.cfg.input_noise:
            x = x + self.cfg.input_noise * torch.randn_like(x)
        self.log("val/loss", torch.nn.functional.mse_loss(self(x), y), sync_dist=True)

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.parameters(), lr=self.cfg.lr)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.9)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def audio_examples(self):
        t = torch.arange(8000) / 8000
        freq = 220.0 * (1 + self.linear.weight.detach().abs().mean().item())
        return {"sine": (0.5 * torch.sin(2 * math.pi * freq * t), 8000)}

    def image_examples(self):
        return {"weights": self.linear.weight.detach().reshape(1, -1)}

    def on_train_start(self):
        state = {"global_step": self.global_step,
                 "optimizer": self.trainer.optimizers[0].state_dict(),
                 "params": {k: v.detach().clone() for k, v in self.state_dict().items()}}
        torch.save(state, self.directory / f"train_start_rank{self.global_rank}.pt")

    def on_train_end(self):
        params = {k: v.detach().clone() for k, v in self.state_dict().items()}
        torch.save(params, self.directory / f"params_rank{self.global_rank}.pt")
        (self.directory / f"end_rank{self.global_rank}.json").write_text(
            json.dumps({"global_step": self.global_step, "world_size": self.trainer.world_size}))
