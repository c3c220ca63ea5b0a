"""``convert`` of a freshly trained system on held-out inputs (espeak-ng voices, random MIDI melodies), per input
set: RPA, per-note error, --transpose +-5 (speech2sing.newinputs).

    .venv/bin/python bench/speech2sing_newinputs.py [key=value ...] --system p_mtl --melody-seeds 100 101 102
"""

import argparse
import json
import os
import time

import torch

from common.lightning.config import load_config
from speech2sing import newinputs, training
from speech2sing.config import Speech2SingConfig
from speech2sing.module import load_module


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--system", default="p_mtl")
    parser.add_argument("--melody-seeds", type=int, nargs="+", default=[100, 101, 102])
    parser.add_argument("--ckpt")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    cfg = load_config(Speech2SingConfig, "speech2sing", "default",
                      ["run.name=bench-new", "logger.wandb=false", *args.overrides])
    cfg.system = args.system
    torch.set_num_threads(max(1, cfg.threads))
    started = time.process_time()
    path = args.ckpt or training.train(cfg)
    trained = time.process_time() - started
    module = load_module(path)
    print(f"load {os.getloadavg()[0]:.1f}; {args.system} {' '.join(args.overrides)}; train {trained:.0f} CPU-s")
    for group in ("male", "female"):
        t = time.process_time()
        got = newinputs.score_group(module, group, args.melody_seeds)
        print(f"  {group}: RPA {got['rpa']:.3f} median {got['median_cents']:.0f} c, note {got['note_cents']:.0f} c, "
              f"transpose {got['transpose_rpa']:.3f}, voiced {got['voiced']:.2f} ({time.process_time() - t:.0f} "
              "CPU-s)", flush=True)
        for row in got["clips"]:
            print("    " + json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}))


if __name__ == "__main__":
    main()
