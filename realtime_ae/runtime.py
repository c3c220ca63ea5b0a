"""Load an exported decoder without the training code: ``decoder.pt`` (TorchScript) or ``decoder.onnx``
(onnxruntime) next to ``decoder.json``. Imports torch or onnxruntime only."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from common.errors import InputError


class DecoderRuntime:
    """``decode(z (L,) or (N, L), chroma (12,) or (N, 12)) -> magnitudes (bins,) or (N, bins)`` float32.
    ``meta`` holds the frame settings and latent range written by :func:`realtime_ae.export.export_decoder`."""

    def __init__(self, path: str | Path):
        path = Path(path)
        meta_path = path.with_suffix(".json")
        if not path.is_file():
            raise InputError(f"{path}: no such decoder; export one with `python -m realtime_ae export`")
        if path.suffix not in (".pt", ".onnx"):
            raise InputError(f"{path}: a decoder is a TorchScript .pt or an .onnx file")
        if not meta_path.is_file():
            raise InputError(f"{meta_path}: missing; the exported decoder needs its .json next to it (re-export)")
        self.meta = json.loads(meta_path.read_text())
        self.backend = "onnx" if path.suffix == ".onnx" else "torchscript"
        try:
            if self.backend == "onnx":
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
        single = z.ndim == 1
        z, chroma = np.atleast_2d(z), np.atleast_2d(chroma)
        if self.backend == "onnx":
            out = self._session.run(None, {"z": z, "chroma": chroma})[0]
        else:
            with self._torch.inference_mode():
                out = self._module(self._torch.from_numpy(z), self._torch.from_numpy(chroma)).numpy()
        return out[0] if single else out
