"""Held-out melodies through trained music_translation checkpoints: pitch kept, voicing, flatness.

    python bench/translation_newinputs.py CKPT [CKPT ...] [--temperatures 1 0.5] [--to piano]

One JSON line per (checkpoint, temperature, source), measured as the report's "On new inputs" section does.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from omegaconf import OmegaConf

from common.mulaw import mu_law_decode, mu_law_encode
from music_translation import inference, newinputs
from music_translation.data import DomainAudio


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("ckpts", nargs="+")
    parser.add_argument("--temperatures", nargs="+", type=float, default=[1.0])
    parser.add_argument("--to", default="piano")
    parser.add_argument("--seeds", nargs="+", type=int, default=list(newinputs.MELODY_SEEDS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    rate = 8000
    inputs = newinputs.render_inputs(rate, args.seeds, cache="data/cache/music_translation")
    cfg = OmegaConf.create({"data": {"cache": "data/cache/music_translation", "sample_rate": rate}})
    piano = DomainAudio(cfg, args.to, "test").random_segments(np.random.default_rng(0), 8, 4 * rate)
    reference = newinputs.reference_flatness(piano, rate)
    print(json.dumps({"reference_flatness": reference}))
    n = max(len(c["audio"]) for c in inputs)
    audio = np.stack([np.pad(c["audio"], (0, n - len(c["audio"]))) for c in inputs])
    codes = mu_law_encode(torch.from_numpy(audio))
    for path in args.ckpts:
        module = inference.load_module(path)
        latent = inference.encode(module, codes)
        d = inference.domain_index(module, args.to)
        for t in args.temperatures:
            start = time.process_time()
            out = mu_law_decode(inference.generate(module, latent, d, temperature=t)).numpy()
            gen = time.process_time() - start
            clips = [{**c, "measures": newinputs.clip_measures(c["contour"], o[:len(c["audio"])], rate)}
                     for c, o in zip(inputs, out)]
            for row in newinputs.rows_of(clips, reference, {"ckpt": path, "T": t}):
                print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}),
                      flush=True)
            print(json.dumps({"ckpt": path, "T": t, "gen_cpu_s": round(gen, 1),
                              "measure_cpu_s": round(time.process_time() - start - gen, 1)}), flush=True)


if __name__ == "__main__":
    main()
