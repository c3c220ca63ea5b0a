"""Load an exported decoder without the training code: ``decoder.npz`` (numpy), ``decoder.pt`` (TorchScript) or
``decoder.onnx`` (onnxruntime) next to ``decoder.json``. Imports numpy, torch or onnxruntime only.

The numpy runtime is the synthesizer's default: for one frame at a time (batch 1) the decoder is a chain of
matrix-vector products whose cost is reading the weights, and numpy's BLAS call per layer has a few
microseconds of overhead where a torch or onnxruntime call has tens to hundreds (``bench/realtime.py``)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from common.errors import InputError

SUFFIXES = {".npz": "numpy", ".pt": "torchscript", ".onnx": "onnx"}
# the file each ``synth.backend`` runs, as written by :func:`realtime_ae.export.export_decoder`
FILES = {"numpy": "decoder.npz", "torchscript": "decoder.pt", "onnx": "decoder.onnx", "int8": "decoder-int8.onnx"}


class DenseChain:
    """The exported dense decoder in numpy: ``x -> max(x @ w + b, slope * (x @ w + b))`` per layer, with
    preallocated outputs for single frames. The input is ``[z, chroma]`` with the chroma skip, else ``z``."""

    def __init__(self, arrays, skip: bool):
        layers = len(arrays["slopes"])
        self.weights = [np.ascontiguousarray(arrays[f"w{i}"], np.float32) for i in range(layers)]
        self.biases = [np.asarray(arrays[f"b{i}"], np.float32) for i in range(layers)]
        self.slopes = [float(s) for s in arrays["slopes"]]
        self.skip = skip
        self._outputs = [np.empty(w.shape[1], np.float32) for w in self.weights]
        self._scratch = [np.empty(w.shape[1], np.float32) for w in self.weights]

    def __call__(self, z: np.ndarray, chroma: np.ndarray) -> np.ndarray:
        """(z (L,), chroma (12,)) -> (bins,) a fresh array, or (N, L), (N, 12) -> (N, bins)."""
        x = np.concatenate([z, chroma], axis=-1) if self.skip else z
        single = x.ndim == 1
        for w, b, slope, out, scratch in zip(self.weights, self.biases, self.slopes, self._outputs, self._scratch):
            if single:
                x = np.dot(x, w, out=out)
                x += b
                np.multiply(x, slope, out=scratch)
                np.maximum(x, scratch, out=x)
            else:
                x = x @ w + b
                np.maximum(x, slope * x, out=x)
        return x.copy() if single else x


class DecoderRuntime:
    """``decode(z (L,) or (N, L), chroma (12,) or (N, 12)) -> magnitudes (bins,) or (N, bins)`` float32.
    ``meta`` holds the frame settings and latent range written by :func:`realtime_ae.export.export_decoder`."""

    def __init__(self, path: str | Path):
        path = Path(path)
        meta_path = path.with_suffix(".json")
        if not path.is_file():
            raise InputError(f"{path}: no such decoder; export one with `python -m realtime_ae export`")
        if path.suffix not in SUFFIXES:
            raise InputError(f"{path}: a decoder is a numpy .npz, a TorchScript .pt or an .onnx file")
        if not meta_path.is_file():
            raise InputError(f"{meta_path}: missing; the exported decoder needs its .json next to it (re-export)")
        self.meta = json.loads(meta_path.read_text())
        self.backend = SUFFIXES[path.suffix]
        try:
            if self.backend == "numpy":
                with np.load(path) as arrays:
                    self._chain = DenseChain(dict(arrays), bool(self.meta["skip"]))
            elif self.backend == "onnx":
                import onnxruntime

                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = options.inter_op_num_threads = 1
                self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            else:
                import torch

                self._torch = torch
                with warnings.catch_warnings():  # torch marks TorchScript deprecated; it still loads and runs
                    warnings.simplefilter("ignore", FutureWarning)
                    self._module = torch.jit.load(str(path), map_location="cpu").eval()
        except InputError:
            raise
        except Exception as err:
            raise InputError(f"{path}: cannot load this {self.backend} decoder ({type(err).__name__}); "
                             "re-export it with `python -m realtime_ae export`") from None

    def decode(self, z: np.ndarray, chroma: np.ndarray) -> np.ndarray:
        z, chroma = np.asarray(z, np.float32), np.asarray(chroma, np.float32)
        if self.backend == "numpy":
            return self._chain(z, chroma)
        single = z.ndim == 1
        z, chroma = np.atleast_2d(z), np.atleast_2d(chroma)
        if self.backend == "onnx":
            out = self._session.run(None, {"z": z, "chroma": chroma})[0]
        else:
            with self._torch.inference_mode():
                out = self._module(self._torch.from_numpy(z), self._torch.from_numpy(chroma)).numpy()
        return out[0] if single else out
