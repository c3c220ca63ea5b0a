"""music_translation speed: training steps/s with the pitch augmentation on vs off, and `translate`'s
generation samples/s at batch 1 (one stream) vs batched over pieces, beside the real-time rate.

    python bench/translation.py [--config default] [--steps 5] [--seconds 1.0] [--pieces 8] [--threads 1]

The training step is the module's full step (confusion step + autoencoder step, augmentation on the
training device) run outside Lightning on a random one-domain batch of the preset's size; the augmentation's
share is also timed alone. Same process, same inputs, one run each; report the load average with the numbers.
"""

from __future__ import annotations

import argparse
import os
import time

import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from common.lightning import load_config
from music_translation import inference
from music_translation.augment import augment_codes
from music_translation.config import MusicTranslationConfig
from music_translation.data import segment_samples
from music_translation.module import TranslationModule


def training_step(module: TranslationModule, codes: torch.Tensor, augment: bool, optimizers) -> None:
    """The two optimisation steps of ``TranslationModule.training_step`` (single process)."""
    opt_c, opt_ae = optimizers
    x = augment_codes(codes, module.hparams.sample_rate, module.hparams.augment) if augment else codes
    latent = module.net.encode(x)
    target = torch.zeros(codes.shape[0], dtype=torch.long)
    opt_c.zero_grad()
    F.cross_entropy(module.net.confusion(latent.detach()), target).backward()
    opt_c.step()
    loss = module.net.autoencoder_loss(latent, codes, 0, module.hparams.optim["confusion_weight"])[0]
    opt_ae.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_value_(module.parameters(), module.hparams.optim["clip_value"])
    opt_ae.step()


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="default")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0, help="audio translated per timing")
    parser.add_argument("--pieces", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = load_config(MusicTranslationConfig, "music_translation", args.config)
    rate = cfg.data.sample_rate
    module = TranslationModule(model=OmegaConf.to_container(cfg.model), domains=list(cfg.data.domains),
                               sample_rate=rate, optim=OmegaConf.to_container(cfg.optim),
                               augment=OmegaConf.to_container(cfg.augment))
    opts = module.configure_optimizers()
    codes = torch.randint(0, 256, (cfg.data.batch_size, segment_samples(cfg)))
    print(f"config {args.config}: {rate} Hz, batch {tuple(codes.shape)}, threads {args.threads}, "
          f"load average {os.getloadavg()[0]:.2f}")
    on = timed(lambda: training_step(module, codes, True, opts), args.steps)
    off = timed(lambda: training_step(module, codes, False, opts), args.steps)
    aug = timed(lambda: augment_codes(codes, rate, module.hparams.augment), args.steps)
    print(f"training steps/s: augmentation on {1 / on:.3f}, off {1 / off:.3f}, ratio on/off {off / on:.3f}; "
          f"augmentation alone {1000 * aug:.1f} ms = {100 * aug / on:.1f}% of a step")
    module.eval()
    n = int(args.seconds * rate) // module.net.model_args["pool"] * module.net.model_args["pool"]
    source = torch.randint(0, 256, (n,))
    for pieces in (1, args.pieces):
        start = time.perf_counter()
        inference.translate(module, source, 0, pieces=pieces, warmup=1, backend="torch")
        rate_out = n / (time.perf_counter() - start)
        print(f"translate {n} samples, pieces {pieces}: {rate_out:,.0f} samples/s = {rate_out / rate:.3f} x real "
              f"time ({rate} Hz)")


if __name__ == "__main__":
    main()
