"""numba kernels of the exported dense decoder for the few frames the synth engine decodes per call.

``small_batch_chain``: float32 weights, frames in pairs so that each weight is read once per pair.
``half_chain``: float16 weights (half the bytes of float32: a one-frame decode costs reading the weights, 11 MB in
float32 for the paper's 8-unit decoder), widened to float32 in registers (the F16C conversion; LLVM vectorises it)
and summed in float32. Its outputs equal the float32 chain run on the float16-rounded weights to float32 rounding.
"""

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

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


@intrinsic
def _widen(typingctx, bits):
    """float32 value of the IEEE half-precision number whose bits are the uint16 ``bits``."""
    if bits != types.uint16:
        return None

    def codegen(context, builder, signature, args):
        return builder.fpext(builder.bitcast(args[0], ir.HalfType()), ir.FloatType())

    return types.float32(types.uint16), codegen


@numba.njit(fastmath=FASTMATH, boundscheck=False, inline="always")
def _activate(out, slope):
    for j in range(out.shape[0]):
        v = out[j]
        out[j] = v if v > 0 else v * slope


@numba.njit(fastmath=FASTMATH, boundscheck=False)
def _half_layer(x0, x1, kernel, biases, slope, out0, out1, pair):
    """``out = lrelu(x @ kernel + biases)`` for one frame (``x0``) or two (``pair``), ``kernel`` (in, out) float16
    bits. Four kernel rows per pass over the outputs, so each output is loaded and stored once per four inputs;
    each widened weight feeds both frames."""
    n_in, n_out = kernel.shape
    out0[:] = biases
    out1[:] = biases
    i = 0
    while i + 4 <= n_in:
        r0, r1, r2, r3 = kernel[i], kernel[i + 1], kernel[i + 2], kernel[i + 3]
        a0, a1, a2, a3 = x0[i], x0[i + 1], x0[i + 2], x0[i + 3]
        if pair:
            b0, b1, b2, b3 = x1[i], x1[i + 1], x1[i + 2], x1[i + 3]
            for j in range(n_out):
                w0, w1, w2, w3 = _widen(r0[j]), _widen(r1[j]), _widen(r2[j]), _widen(r3[j])
                out0[j] += (a0 * w0 + a1 * w1) + (a2 * w2 + a3 * w3)
                out1[j] += (b0 * w0 + b1 * w1) + (b2 * w2 + b3 * w3)
        else:
            for j in range(n_out):
                out0[j] += (a0 * _widen(r0[j]) + a1 * _widen(r1[j])) + (a2 * _widen(r2[j]) + a3 * _widen(r3[j]))
        i += 4
    for r in range(i, n_in):
        a0, b0 = x0[r], x1[r]
        for j in range(n_out):
            w0 = _widen(kernel[r, j])
            out0[j] += a0 * w0
            out1[j] += b0 * w0
    _activate(out0, slope)
    if pair:
        _activate(out1, slope)


@numba.njit(fastmath=FASTMATH, boundscheck=False, cache=True)
def half_chain(x, kernels, biases, sizes, slopes, a, b):
    """The dense chain for ``x`` (n, sizes[0]) float32 frames with float16 weights: ``kernels`` all layers' (in,
    out) kernels as uint16 bits, flattened; ``biases`` float32, flattened; ``sizes`` (layers + 1,) widths;
    ``slopes`` (layers,); ``a``/``b`` (>= n + 1, max width) float32 scratch. Frames go in pairs, an odd last one
    alone. Returns a view (n, sizes[-1]) of a or b."""
    n = x.shape[0]
    a[:n, : sizes[0]] = x
    a[n, : sizes[0]] = 0.0  # the partner of an odd last frame: computed alongside, never returned
    src, dst = a, b
    w_at, b_at = 0, 0
    for layer in range(sizes.shape[0] - 1):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        kernel = kernels[w_at : w_at + n_in * n_out].reshape((n_in, n_out))
        for k in range(0, n, 2):
            _half_layer(src[k, :n_in], src[k + 1, :n_in], kernel, biases[b_at : b_at + n_out], slopes[layer],
                        dst[k, :n_out], dst[k + 1, :n_out], k + 1 < n)
        w_at, b_at = w_at + n_in * n_out, b_at + n_out
        src, dst = dst, src
    return src[:n, : sizes[-1]]
