"""RCA of a speech2sing system against its training steps, on the eval's held-out items: trains one system with
the module's loss, optimizer and decay (one thread), and at each of the given steps renders the held-out items
through Griffin-Lim and scores RCA against their contour, and against the contour shifted by
``--shift`` semitones when the pitch image is shifted too (does the melody input drive the output?).

    .venv/bin/python bench/speech2sing_rca.py [key=value ...] --system p_mse --steps 300 1000 2000
"""

import argparse
import os
import time

import numpy as np
import torch

from common.lightning.config import load_config
from common.metrics import raw_chroma_accuracy
from speech2sing import data, experiments, training
from speech2sing import features as fx
from speech2sing.config import Speech2SingConfig
from speech2sing.module import Speech2SingModule


def rca(cfg, module, items, shift: float) -> float:
    d, out = cfg.data, []
    for s in items:
        f0 = np.where(s.f0 > 0, s.f0 * 2 ** (shift / 12), 0.0)
        source = s.Y if module.hparams.system["source"] == "singing" else s.X
        log_mag = experiments.network_outputs(module, np.ascontiguousarray(source), f0)[0]
        audio = fx.synthesize(log_mag, d.hop_length, cfg.convert.exponent, cfg.eval.griffinlim_iters)
        est = fx.pyin_contour(audio, d.sample_rate, cfg.eval.pitch_hop)
        times = np.arange(len(f0)) * d.hop_length / d.sample_rate
        out.append(raw_chroma_accuracy(times, f0, np.arange(len(est)) * cfg.eval.pitch_hop / d.sample_rate, est))
    return float(np.mean(out))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--system", default="p_mse")
    parser.add_argument("--steps", type=int, nargs="+", default=[300, 1000, 2000])
    parser.add_argument("--shift", type=float, default=4.0)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cfg = load_config(Speech2SingConfig, "speech2sing", "default", ["run.name=bench-rca", *args.overrides])
    cfg.system = args.system
    switches = training.system_switches(cfg)
    torch.manual_seed(cfg.run.seed)
    module = Speech2SingModule(system_name=args.system, system=switches, model=dict(cfg.model),
                               optim=dict(cfg.optim), features=training.features(cfg))
    splits = data.samples(cfg, switches["align"])
    items = experiments.test_items(cfg, switches["align"])[: args.items]
    train = data.PairDataset(splits["train"], cfg.data, switches["source"], train=True)
    optimizer, scheduler = (lambda o: (o["optimizer"], o["lr_scheduler"]["scheduler"]))(module.configure_optimizers())
    rng = np.random.default_rng(cfg.run.seed)
    print(f"load average {os.getloadavg()}; {args.system} {' '.join(args.overrides)}")
    started, step = time.process_time(), 0
    for target in sorted(args.steps):
        module.train()
        while step < target:
            batch = data.collate([train[(int(i), int(rng.integers(2**32)))]
                                  for i in rng.integers(0, len(train), cfg.data.batch_size)])
            loss = module.losses(batch)["loss"]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            step += 1
        trained = time.process_time() - started
        module.eval()
        scores = {shift: rca(cfg, module, items, shift) for shift in (0.0, args.shift)}
        print(f"step {step}: loss {loss.item():.3f}, RCA {scores[0.0]:.3f}, RCA with the melody shifted "
              f"{args.shift:+g} st {scores[args.shift]:.3f} ({trained:.0f} CPU-s of training)", flush=True)
        started = time.process_time() - trained


if __name__ == "__main__":
    main()
