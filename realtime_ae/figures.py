"""The report's pictures and sounds: training-set embeddings (Figures 2-3), decoded latent meshes (Figures
4-5), audio examples (a test clip, its reconstruction, and the synth engine driven by its latents) and the synth
window under a virtual display."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig

from common.audio import load_audio
from common.errors import InputError
from common.report import Clip, Example, Figure, Section
from realtime_ae import experiments, features
from realtime_ae.engine import SynthEngine
from realtime_ae.experiments import Spec
from realtime_ae.module import load_model
from realtime_ae.synth import resynthesise

log = logging.getLogger(__name__)

NOTES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
EMBEDDING_POINTS = 4000


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def embedding_figures(cfg: DictConfig, specs: dict, ckpts: dict, out: Path) -> list[str]:
    """Figures 2-3: the 2-unit models of Tables II and III (seed ``eval.seeds[0]``) on their training sets."""
    plt, files, seed = _pyplot(), [], cfg.eval.seeds[0]
    for table, number in (("II", 2), ("III", 3)):
        if table not in specs:
            continue
        corpus = specs[table][0].corpus
        _, frames, chroma = experiments.split_set(cfg, corpus, "train")
        pick = torch.from_numpy(np.random.default_rng(0).permutation(len(frames))[:EMBEDDING_POINTS])
        frames, chroma = frames[pick], chroma[pick]
        fig, axes = plt.subplots(2, 2, figsize=(8, 7))
        for ax, spec in zip(axes.ravel(), specs[table]):  # lrelu no/skip, sigmoid no/skip
            z = experiments.latents(load_model(ckpts[spec, seed]), frames, chroma)
            points = ax.scatter(z[:, 0], z[:, 1], c=chroma.argmax(-1), cmap="viridis", vmin=0, vmax=11, s=3)
            ax.set_title(f"{spec.activation}, {'skip' if spec.skip else 'no skip'}")
        fig.colorbar(points, ax=axes, ticks=range(12)).ax.set_yticklabels(NOTES)
        name = f"figure{number}_{corpus}.png"
        fig.savefig(out / name, dpi=90)
        plt.close(fig)
        files.append(name)
    return files


def mesh_figures(cfg: DictConfig, specs: list[Spec], ckpts: dict, out: Path, length: int) -> list[str]:
    """Figures 4-5: output note class over the 2-D mesh under each conditioning chroma."""
    plt, files, seed = _pyplot(), [], cfg.eval.seeds[0]
    for number, spec in enumerate([s for s in specs if s.bottleneck == 2], start=4):
        classes = experiments.mesh_classes(load_model(ckpts[spec, seed]), length, cfg.data.sample_rate)
        fig, axes = plt.subplots(3, 4, figsize=(10, 7.5))
        for k, ax in enumerate(axes.ravel()):
            ax.imshow(classes[k].T, origin="lower", extent=(0, 1, 0, 1), cmap="viridis", vmin=0, vmax=11)
            ax.set_title(f"{NOTES[k]}: {(classes[k] == k).mean():.0%} match", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        name = f"figure{number}_{spec.corpus}_mesh.png"
        fig.suptitle(f"{spec.corpus}: output note class over a {length}x{length} mesh, per conditioning chroma")
        fig.savefig(out / name, dpi=80)
        plt.close(fig)
        files.append(name)
    return files


def engine_from_latents(module, frames, peaks, chroma, n_fft: int, hop: int, sample_rate: int) -> np.ndarray:
    """The synth engine (stored noise phase, as the paper) played by a clip's encoded latents, chroma and levels
    frame by frame."""
    def decode(z, c):
        with torch.no_grad():
            return module.net.decoder(torch.from_numpy(z), torch.from_numpy(c)).numpy()

    engine = SynthEngine(decode, module.hparams.model["bottleneck"], sample_rate, n_fft, hop, smoothing_ms=10)
    with torch.no_grad():
        z = module.net.encode(frames, chroma)[0].numpy()
    blocks = []
    for t in range(len(z)):
        engine.set_latent(z[t])
        engine.set_chroma(int(chroma[t].argmax()))
        engine.set_volume(float(peaks[t]) / (n_fft / 4))
        blocks.append(engine.next_block())
    return np.concatenate(blocks)


def example_models(cfg: DictConfig, specs: dict, ckpts: dict, synth_ckpt: Path | None = None) -> dict:
    """corpus -> the checkpoint its audio examples come from: the 2-unit sigmoid + skip models (seed
    ``eval.seeds[0]``), on one octave the synthesizer's model ``synth_ckpt``."""
    models = {s.corpus: ckpts[s, cfg.eval.seeds[0]] for group in specs.values() for s in group
              if s.bottleneck == 2 and s.activation == "sigmoid" and s.skip}
    if synth_ckpt is not None:
        models["one_octave"] = synth_ckpt
    return models


def audio_examples(cfg: DictConfig, models: dict, tests: dict, synth_ckpt: Path | None = None) -> list[Example]:
    """Per corpus of ``models``: test clips, their reconstruction and the engine driven by their latents."""
    d, seed = cfg.data, cfg.eval.seeds[0]
    examples = []
    for corpus, ckpt in models.items():
        if corpus not in tests:
            continue
        prepared = tests[corpus][0]
        module = load_model(ckpt)
        what = "the synthesizer's model" if ckpt == synth_ckpt else "2-unit sigmoid + skip"
        for clip in prepared.split_clips("test")[: cfg.eval.examples]:
            path = Path(prepared.index["corpus"]) / clip["name"]
            audio = load_audio(path, d.sample_rate)
            output, _ = resynthesise(module, path)
            f = features.audio_frames(audio, d.sample_rate, d.n_fft, d.hop_length, d.silence_db)
            kept = np.flatnonzero(f["kept"].numpy())
            peaks = np.zeros(len(f["kept"]), np.float32)
            peaks[kept] = f["peaks"].numpy()
            frames = torch.zeros(len(peaks), f["frames"].shape[1])
            frames[kept] = f["frames"]
            chroma = features.onehot(features.chroma_class(frames, d.sample_rate))
            synth = engine_from_latents(module, frames, peaks, chroma, d.n_fft, d.hop_length, d.sample_rate)
            examples.append(Example(f"{corpus} test clip {clip['name']} ({what}, seed {seed})", [
                Clip("input", audio, d.sample_rate, "the held-out recording"),
                Clip("output", output, d.sample_rate, "autoencoder reconstruction, inverted with the input's phase"),
                Clip("synth", synth[: len(audio)], d.sample_rate,
                     "the real-time engine (stored noise phase) driven by the clip's encoded latents and chroma"),
                Clip("target", audio, d.sample_rate, "the target of an autoencoder is its input")]))
    return examples


def synth_sections(models: dict, out: Path) -> list[Section]:
    """The synth window on a virtual display, if Xvfb is installed."""
    from realtime_ae.export import export_decoder
    from realtime_ae.gui import screenshot, virtual_display

    if "one_octave" not in models:
        return []
    export = export_decoder(load_model(models["one_octave"]), out / "decoder")
    text = ("The synthesizer's decoder exported to ONNX and TorchScript (`decoder/`), run by the synth engine "
            "without the training code; `python -m realtime_ae play` opens this window (sliders for the latent "
            "units, 12 chroma buttons, volume) and streams to the sound card. Timing: `bench/realtime.py`.")
    try:
        with virtual_display() as display:
            screenshot(export["onnx"], display, out / "synth_window.png")
    except InputError as err:  # no Xvfb or no Tk: the report says so instead of a picture
        log.warning("no synth window screenshot: %s", err)
        return [Section("The synthesizer", text + f"\n\n(No screenshot: {err}.)")]
    return [Section("The synthesizer", text, figures=[Figure("synth_window.png", "the play window under Xvfb")])]
