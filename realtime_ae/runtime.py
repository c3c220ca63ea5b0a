"""Load an exported decoder without the training code: ``decoder.npz`` (numpy), ``decoder.pt`` (TorchScript) or
``decoder.onnx`` (onnxruntime) next to ``decoder.json``. Imports numpy, torch or onnxruntime only.

The numpy runtime is the synthesizer's default: for one frame at a time (batch 1) the decoder is a chain of
matrix-vector products whose cost is reading the weights (11 MB for the paper's 8-unit decoder), and numpy's BLAS
call per layer has a few microseconds of overhead where a torch or onnxruntime call has tens to hundreds
(``bench/realtime.py``). For two to four frames (the engine decoding several blocks ahead) a numba kernel reads each
weight once per two frames; BLAS's matrix-matrix product is several times slower than two matrix-vector products
at these sizes."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numba
import numpy as np

from common.errors import InputError

SUFFIXES = {".npz": "numpy", ".pt": "torchscript", ".onnx": "onnx"}
# the file each ``synth.backend`` runs, as written by :func:`realtime_ae.export.export_decoder`
FILES = {"numpy": "decoder.npz", "torchscript": "decoder.pt", "onnx": "decoder.onnx", "int8": "decoder-int8.onnx"}
SMALL_BATCH = 4  # up to this many frames per call go through the pairwise kernel, more through BLAS
FASTMATH = {"reassoc", "contract"}  # vectorised sums (a different summation order than BLAS: ~1e-7 relative)


@numba.njit(fastmath=FASTMATH, boundscheck=False, inline="always")
def _store(out0, out1, j, v0, v1, bias, slope):
    v0, v1 = v0 + bias, v1 + bias
    out0[j] = v0 if v0 > 0 else v0 * slope
    out1[j] = v1 if v1 > 0 else v1 * slope


@numba.njit(fastmath=FASTMATH, boundscheck=False)
def _pair_layer(x0, x1, kernel, biases, slope, out0, out1):
    """One layer for two frames: ``out = lrelu(kernel @ x + biases)``, ``kernel`` (out, in). Four kernel rows at
    a time, so each load of x feeds four rows and each weight load two frames (eight independent sums)."""
    n_out, n_in = kernel.shape
    j = 0
    while j + 4 <= n_out:
        a0, a1, b0, b1 = np.float32(0.0), np.float32(0.0), np.float32(0.0), np.float32(0.0)
        c0, c1, d0, d1 = np.float32(0.0), np.float32(0.0), np.float32(0.0), np.float32(0.0)
        for i in range(n_in):
            u, v = x0[i], x1[i]
            w = kernel[j, i]
            a0 += w * u
            a1 += w * v
            w = kernel[j + 1, i]
            b0 += w * u
            b1 += w * v
            w = kernel[j + 2, i]
            c0 += w * u
            c1 += w * v
            w = kernel[j + 3, i]
            d0 += w * u
            d1 += w * v
        _store(out0, out1, j, a0, a1, biases[j], slope)
        _store(out0, out1, j + 1, b0, b1, biases[j + 1], slope)
        _store(out0, out1, j + 2, c0, c1, biases[j + 2], slope)
        _store(out0, out1, j + 3, d0, d1, biases[j + 3], slope)
        j += 4
    for r in range(j, n_out):
        a0, a1 = np.float32(0.0), np.float32(0.0)
        for i in range(n_in):
            a0 += kernel[r, i] * x0[i]
            a1 += kernel[r, i] * x1[i]
        _store(out0, out1, r, a0, a1, biases[r], slope)


@numba.njit(fastmath=FASTMATH, boundscheck=False, cache=True)
def small_batch_chain(x, rows, biases, sizes, slopes, a, b):
    """The dense chain for a few frames ``x`` (n, sizes[0]) float32: ``rows`` all layers' (out, in) kernels
    flattened, ``biases`` flattened, ``sizes`` (layers + 1,) widths, ``slopes`` (layers,), ``a``/``b`` (>= n + 1,
    max width) scratch. Frames go in pairs (an odd last one paired with itself), so each weight is read once per
    pair. Returns a view (n, sizes[-1]) of a or b."""
    n = x.shape[0]
    a[:n, : sizes[0]] = x
    a[n, : sizes[0]] = x[n - 1]
    src, dst = a, b
    w_at, b_at = 0, 0
    for layer in range(sizes.shape[0] - 1):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        kernel = rows[w_at : w_at + n_in * n_out].reshape((n_out, n_in))
        for k in range(0, n, 2):
            _pair_layer(src[k, :n_in], src[k + 1, :n_in], kernel, biases[b_at : b_at + n_out], slopes[layer],
                        dst[k, :n_out], dst[k + 1, :n_out])
        w_at, b_at = w_at + n_in * n_out, b_at + n_out
        src, dst = dst, src
    return src[:n, : sizes[-1]]


class DenseChain:
    """The exported dense decoder in numpy: ``x -> max(x @ w + b, slope * (x @ w + b))`` per layer, with
    preallocated outputs. One frame: a BLAS matrix-vector product per layer; 2-4 frames: :func:`small_batch_chain`;
    more: BLAS matrix products. The input is ``[z, chroma]`` with the chroma skip, else ``z``."""

    def __init__(self, arrays, skip: bool):
        layers = len(arrays["slopes"])
        self.weights = [np.ascontiguousarray(arrays[f"w{i}"], np.float32) for i in range(layers)]
        self.biases = [np.asarray(arrays[f"b{i}"], np.float32) for i in range(layers)]
        self.slopes = [float(s) for s in arrays["slopes"]]
        self.skip = skip
        self._outputs = [np.empty(w.shape[1], np.float32) for w in self.weights]
        self._scratch = [np.empty(w.shape[1], np.float32) for w in self.weights]
        # the same layers for the small-batch kernel: (out, in) rows, one flat array
        self._rows = np.concatenate([np.ascontiguousarray(w.T).ravel() for w in self.weights])
        self._flat_biases = np.concatenate(self.biases)
        self._sizes = np.array([self.weights[0].shape[0]] + [w.shape[1] for w in self.weights], np.int64)
        self._slopes = np.array(self.slopes, np.float32)
        self._pair = [np.empty((SMALL_BATCH + 1, self._sizes.max()), np.float32) for _ in range(2)]
        self(np.zeros((2, self._sizes[0] - 12 * skip), np.float32), np.zeros((2, 12), np.float32))  # compile now

    def __call__(self, z: np.ndarray, chroma: np.ndarray) -> np.ndarray:
        """(z (L,), chroma (12,)) -> (bins,), or (N, L), (N, 12) -> (N, bins); a fresh array."""
        x = np.concatenate([z, chroma], axis=-1) if self.skip else z
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
