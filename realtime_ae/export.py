"""Export a trained decoder for the synthesizer: TorchScript (``decoder.pt``), ONNX (``decoder.onnx``), ONNX with
int8 weights (``decoder-int8.onnx``: a quarter of the weight bytes, which is what a one-frame decode costs), its
layer weights for the numpy runtime (``decoder.npz``; ``decoder-half.npz`` with float16 kernels, half the bytes,
about 2e-4 of the output peak off) and ``decoder.json`` (sizes, frame settings and the latent range seen on the
training set, for the sliders).
The exported files are all the engine needs (see :mod:`realtime_ae.runtime`)."""

from __future__ import annotations

import json
import logging
import shutil
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from realtime_ae.data import PreparedCorpus
from realtime_ae.models import SLOPE
from realtime_ae.module import FrameAutoencoder


class ExportedDecoder(nn.Module):
    """(z (N, bottleneck), chroma (N, 12)) -> magnitudes (N, bins): the trained decoder alone."""

    def __init__(self, module: FrameAutoencoder):
        super().__init__()
        self.decoder = module.net.decoder

    def forward(self, z: Tensor, chroma: Tensor) -> Tensor:
        return self.decoder(z, chroma)


@torch.no_grad()
def latent_range(module: FrameAutoencoder, corpus: PreparedCorpus | None) -> tuple[list[float], list[float]]:
    """Per-unit (min, max) of the training-set latents; (0, 1) for a sigmoid bottleneck without a corpus."""
    bottleneck = module.hparams.model["bottleneck"]
    if corpus is None:
        return [0.0] * bottleneck, [1.0] * bottleneck
    frames, chroma = corpus.tensors(corpus.split_rows("train"))
    z = torch.cat([module.net.encode(f, c)[0] for f, c in zip(frames.split(4096), chroma.split(4096))])
    return z.amin(0).tolist(), z.amax(0).tolist()


def dense_layers(module: FrameAutoencoder) -> dict[str, np.ndarray]:
    """The decoder as plain arrays: ``w<i>`` (in, out) float32 kernels, ``b<i>`` (out,) biases and ``slopes``
    (layers,) the negative slope of each layer's activation (LReLU 0.1 hidden, 0 = ReLU at the output)."""
    decoder = module.net.decoder
    linears = [m for m in decoder.hidden if isinstance(m, nn.Linear)] + [decoder.out]
    arrays = {"slopes": np.array([SLOPE] * (len(linears) - 1) + [0.0], np.float32)}
    for i, layer in enumerate(linears):
        arrays[f"w{i}"] = np.ascontiguousarray(layer.weight.detach().numpy().T, dtype=np.float32)
        arrays[f"b{i}"] = layer.bias.detach().numpy().astype(np.float32)
    return arrays


def quantise_onnx(source: Path, target: Path) -> None:
    """``source`` with int8 per-output-channel weights and activations quantised per call (onnxruntime dynamic
    quantisation): a few percent of the output peak away from the float decoder at worst (tested)"""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level, root.level = root.level, logging.ERROR  # it advises pre-processing for conv nets at WARNING level
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.setLevel(level)


def export_decoder(module: FrameAutoencoder, out_dir: str | Path, corpus: PreparedCorpus | None = None) -> dict:
    """Write ``decoder.pt``, ``decoder.onnx``, ``decoder.npz`` and ``decoder.json`` to ``out_dir``; returns their
    paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    module = module.eval().cpu()
    hp = module.hparams
    wrapper = ExportedDecoder(module).eval()
    example = (torch.full((1, hp.model["bottleneck"]), 0.5), torch.eye(12)[:1])
    paths = {"torchscript": out / "decoder.pt", "onnx": out / "decoder.onnx", "int8": out / "decoder-int8.onnx",
             "numpy": out / "decoder.npz", "half": out / "decoder-half.npz", "meta": out / "decoder.json"}
    with warnings.catch_warnings():  # torch marks TorchScript and the TorchScript-based ONNX exporter deprecated
        warnings.simplefilter("ignore", (FutureWarning, DeprecationWarning))
        torch.jit.save(torch.jit.trace(wrapper, example), paths["torchscript"])
        torch.onnx.export(wrapper, example, paths["onnx"], input_names=["z", "chroma"],
                          output_names=["magnitude"], dynamo=False,
                          dynamic_axes={"z": {0: "n"}, "chroma": {0: "n"}, "magnitude": {0: "n"}})
    quantise_onnx(paths["onnx"], paths["int8"])
    layers = dense_layers(module)
    np.savez(paths["numpy"], **layers)
    np.savez(paths["half"], **{k: v.astype(np.float16) if k.startswith("w") else v for k, v in layers.items()})
    low, high = latent_range(module, corpus)
    meta = {"bottleneck": hp.model["bottleneck"], "bins": hp.bins, "skip": hp.model["skip"],
            "activation": hp.model["activation"], "variational": hp.model["variational"],
            "latent_min": low, "latent_max": high, **hp.features}
    paths["meta"].write_text(json.dumps(meta, indent=1))
    for variant in ("int8", "half"):
        shutil.copy(paths["meta"], paths[variant].with_suffix(".json"))  # every decoder file has its .json beside it
    return {k: str(v) for k, v in paths.items()}
