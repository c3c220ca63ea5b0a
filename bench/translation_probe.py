"""music_translation diagnostics: does the latent reach the decoders, does it code pitch, do outputs follow it?

    python bench/translation_probe.py [--steps 1000] [--every 250] [key=value ...]   (config overrides)

Trains ``TranslationNet`` with the module's two steps (confusion net on the detached latent, then encoder +
decoder on CE_recon - lambda * CE_confusion, augmented encoder input, value clipping), outside Lightning on
one thread, and every ``--every`` steps prints one JSON line:

- ``ce``: validation teacher-forced cross-entropy (nats/sample) with the true latent, with the latent of
  another segment of the batch (shuffled), and with zeros: the decoder uses the latent when true < shuffled;
- ``pitch_r2``: held-out R^2 of a ridge regression from latent frames to MIDI pitch (single notes of four
  timbres, MIDI 55-79), ``latent_spread``: mean std of latent channels across those notes over their mean |.|;
- ``gen``: held-out melodies (``music_translation.newinputs``: violin, flute, additive) translated by the first
  decoder (``IncrementalGenerator``, as ``eval`` does) at temperatures 1, 0.7, 0.4: the "On new inputs" measures.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from common.lightning import load_config
from common.mulaw import mu_law_decode, mu_law_encode
from common.wavenet import IncrementalGenerator
from music_translation import data, newinputs, tones
from music_translation.augment import augment_codes
from music_translation.config import MusicTranslationConfig
from music_translation.models import TranslationNet


def latent_use(net: TranslationNet, cfg, length: int) -> dict:
    ce = {"true": [], "shuffled": [], "zero": []}
    rng = np.random.default_rng(1)
    for d, name in enumerate(cfg.data.domains):
        codes = torch.from_numpy(data.DomainAudio(cfg, name, "val").random_segments(rng, 8, length).astype(np.int64))
        latent = net.encode(codes)
        ce["true"].append(net.reconstruction_loss(latent, codes, d).item())
        ce["shuffled"].append(net.reconstruction_loss(latent.roll(1, 0), codes, d).item())
        ce["zero"].append(net.reconstruction_loss(torch.zeros_like(latent), codes, d).item())
    return {key: round(float(np.mean(v)), 4) for key, v in ce.items()}


def pitch_probe(net: TranslationNet, rate: int) -> tuple[float, float]:
    """(held-out R^2 of latent frames -> MIDI pitch, latent spread across notes)."""
    pool, rng, x, y = net.model_args["pool"], np.random.default_rng(2), [], []
    for name in ("piano", "harpsichord", "strings", "flute"):
        for pitch in range(55, 80):
            audio = tones.render([(pitch, 0.6)], tones.TIMBRES[name], rng, rate)
            codes = mu_law_encode(torch.from_numpy(audio))[None, :len(audio) // pool * pool].long()
            frames = net.encode(codes)[0].T.numpy()[1:-1]  # drop the onset and release frames
            x.append(frames)
            y += [pitch] * len(frames)
    x, y = np.concatenate(x), np.array(y, float)
    order = np.random.default_rng(3).permutation(len(y))
    train, test = order[:len(y) * 2 // 3], order[len(y) * 2 // 3:]
    a = np.c_[x, np.ones(len(x))]
    w = np.linalg.solve(a[train].T @ a[train] + 1e-3 * np.eye(a.shape[1]), a[train].T @ y[train])
    residual = ((a[test] @ w - y[test]) ** 2).sum() / ((y[test] - y[test].mean()) ** 2).sum()
    return 1 - float(residual), float(x.std(0).mean() / np.abs(x).mean())


def generation(net: TranslationNet, cfg, rate: int, inputs: list[dict], reference: float) -> dict:
    """The held-out melodies (``newinputs``) translated by the first decoder at temperatures 1, 0.7 and 0.4:
    per temperature the "On new inputs" measures averaged over the input sources."""
    pool, out = net.model_args["pool"], {}
    n = -(-max(len(c["audio"]) for c in inputs) // pool) * pool
    codes = mu_law_encode(torch.from_numpy(np.stack([np.pad(c["audio"], (0, n - len(c["audio"]))) for c in inputs])))
    latent = net.encode(codes)
    for temperature in (1.0, 0.7, 0.4):
        generator = IncrementalGenerator(net.decoders[0])
        generated = mu_law_decode(generator.generate(generator.start(len(inputs), 0), latent,
                                                     temperature=temperature)).numpy()
        clips = [{**c, "measures": newinputs.clip_measures(c["contour"], g[:len(c["audio"])], rate)}
                 for c, g in zip(inputs, generated)]
        rows = newinputs.rows_of(clips, reference, {})
        out[f"T={temperature:g}"] = {k: round(float(np.mean([r[k] for r in rows])), 3) for k in
                                     ("within_50_cents", "voiced_ratio", "flatness_factor", "median_cents")}
        out[f"T={temperature:g}"]["per_input"] = {r["input"]: round(r["within_50_cents"], 2) for r in rows}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--every", type=int, default=250)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cfg = load_config(MusicTranslationConfig, "music_translation", "default", args.overrides)
    rate, length = cfg.data.sample_rate, data.segment_samples(cfg)
    torch.manual_seed(0)
    net = TranslationNet(OmegaConf.to_container(cfg.model), list(cfg.data.domains))
    domains = [data.DomainAudio(cfg, name, "train") for name in cfg.data.domains]
    opt_confusion = torch.optim.Adam(net.confusion.parameters(), lr=cfg.optim.lr)
    opt_autoencoder = torch.optim.Adam([*net.encoder.parameters(), *net.decoders.parameters()], lr=cfg.optim.lr)
    augment, rng, started = OmegaConf.to_container(cfg.augment), np.random.default_rng(0), time.time()
    inputs = newinputs.render_inputs(rate, (11,), ("violin", "flute", "additive"), cfg.data.cache)
    piano = data.DomainAudio(cfg, cfg.data.domains[0], "test").random_segments(np.random.default_rng(0), 8, 4 * rate)
    reference = newinputs.reference_flatness(piano, rate)
    for step in range(1, args.steps + 1):
        d = step % len(domains)
        codes = torch.from_numpy(domains[d].random_segments(rng, cfg.data.batch_size, length).astype(np.int64))
        latent = net.encode(augment_codes(codes, rate, augment) if augment["enabled"] else codes)
        target = torch.full((codes.shape[0],), d)
        opt_confusion.zero_grad()
        F.cross_entropy(net.confusion(latent.detach()), target).backward()
        opt_confusion.step()
        loss, recon, _ = net.autoencoder_loss(latent, codes, d, cfg.optim.confusion_weight)
        opt_autoencoder.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_value_(net.parameters(), cfg.optim.clip_value)
        opt_autoencoder.step()
        if step % args.every == 0 or step == args.steps:
            seconds = time.time() - started
            net.eval()
            with torch.no_grad():
                r2, spread = pitch_probe(net, rate)
                line = {"step": step, "train_seconds": round(seconds), "recon": round(recon.item(), 3),
                        "ce": latent_use(net, cfg, length), "pitch_r2": round(r2, 3),
                        "latent_spread": round(spread, 3), "gen": generation(net, cfg, rate, inputs, reference)}
            net.train()
            print(json.dumps(line), flush=True)
            started = time.time() - seconds  # the diagnostics do not count as training time


if __name__ == "__main__":
    main()
