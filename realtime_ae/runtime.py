"""Load an exported decoder without the training code: ``decoder.npz`` / ``decoder-half.npz`` (numpy, float32 /
float16 weights), ``decoder.pt`` (TorchScript) or ``decoder.onnx`` / ``decoder-int8.onnx`` (onnxruntime) next to
its ``.json``. Imports numpy, torch or onnxruntime only.

The numpy runtime is the synthesizer's: for one frame at a time (batch 1) the decoder is a chain of matrix-vector
products whose cost is reading the weights (11 MB in float32 for the paper's 8-unit decoder), and numpy's BLAS call
per layer has a few microseconds of overhead where a torch or onnxruntime call has tens to hundreds
(``bench/realtime.py``). For two to four frames (the engine decoding several blocks ahead) a numba kernel reads each
weight once per two frames; BLAS's matrix-matrix product is several times slower than two matrix-vector products
at these sizes. With float16 weights every call goes through :func:`realtime_ae.kernels.half_chain`."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from common.errors import InputError
from realtime_ae.kernels import half_chain, small_batch_chain

SUFFIXES = {".npz": "numpy", ".pt": "torchscript", ".onnx": "onnx"}
# the file each ``synth.backend`` runs, as written by :func:`realtime_ae.export.export_decoder`
FILES = {"half": "decoder-half.npz", "numpy": "decoder.npz", "torchscript": "decoder.pt", "onnx": "decoder.onnx",
         "int8": "decoder-int8.onnx"}
SMALL_BATCH = 4  # up to this many float32 frames per call go through the pairwise kernel, more through BLAS


class DenseChain:
    """The exported dense decoder in numpy: ``x -> max(x @ w + b, slope * (x @ w + b))`` per layer, with
    preallocated outputs. float32 weights: one frame, a BLAS matrix-vector product per layer; 2-4 frames,
    :func:`small_batch_chain`; more, BLAS matrix products. float16 weights: :func:`half_chain` (float32 sums).
    The input is ``[z, chroma]`` with the chroma skip, else ``z``."""

    def __init__(self, arrays, skip: bool):
        layers = len(arrays["slopes"])
        self.half = arrays["w0"].dtype == np.float16
        kernels = [np.asarray(arrays[f"w{i}"]) for i in range(layers)]
        self.biases = [np.asarray(arrays[f"b{i}"], np.float32) for i in range(layers)]
        self.slopes = [float(s) for s in arrays["slopes"]]
        self.skip = skip
        self._flat_biases = np.concatenate(self.biases)
        self._sizes = np.array([kernels[0].shape[0]] + [w.shape[1] for w in kernels], np.int64)
        self._slopes = np.array(self.slopes, np.float32)
        self._pair = [np.empty((SMALL_BATCH + 1, self._sizes.max()), np.float32) for _ in range(2)]
        if self.half:  # (in, out) kernels' float16 bits, one flat array
            self._kernels = np.concatenate([np.ascontiguousarray(w, np.float16).view(np.uint16).ravel()
                                            for w in kernels])
        else:
            self.weights = [np.ascontiguousarray(w, np.float32) for w in kernels]
            self._outputs = [np.empty(w.shape[1], np.float32) for w in self.weights]
            self._scratch = [np.empty(w.shape[1], np.float32) for w in self.weights]
            # the same layers for the small-batch kernel: (out, in) rows, one flat array
            self._rows = np.concatenate([np.ascontiguousarray(w.T).ravel() for w in self.weights])
        for n in (1, 2):  # compile now
            self(np.zeros((n, self._sizes[0] - 12 * skip), np.float32), np.zeros((n, 12), np.float32))

    def __call__(self, z: np.ndarray, chroma: np.ndarray) -> np.ndarray:
        """(z (L,), chroma (12,)) -> (bins,), or (N, L), (N, 12) -> (N, bins); a fresh array."""
        x = np.concatenate([z, chroma], axis=-1) if self.skip else z
        if self.half:
            frames = np.atleast_2d(x)
            out = np.concatenate([half_chain(frames[i : i + SMALL_BATCH], self._kernels, self._flat_biases,
                                             self._sizes, self._slopes, *self._pair).copy()
                                  for i in range(0, len(frames), SMALL_BATCH)])
            return out[0] if x.ndim == 1 else out
        if x.ndim == 2 and len(x) == 1:
            return self(z[0], chroma[0])[None]
        if x.ndim == 2 and len(x) <= SMALL_BATCH:
            return small_batch_chain(x, self._rows, self._flat_biases, self._sizes, self._slopes, *self._pair).copy()
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
