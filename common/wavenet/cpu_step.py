"""Fused CPU step: every layer, the head and the sampling of a batch of WaveNet streams in one compiled loop.

The torch engine spends most of a batch-1 step dispatching ~350 tiny ops; here one numba-compiled call
advances all streams by a whole chunk of samples. Arithmetic is the torch engine's, in float32: the gate
``c + x W_0 + sum_j buf[t - j d] W_j``, ``tanh(a) * sigmoid(b)``, the residual ``(x + b_r) + z W_r``, the skip
sum ``b_s + z_all W_s``, the ReLU head, and the inverse-CDF draw with a float64-accumulated CDF (as torch's
CPU ``cumsum``). Matmuls are AXPY loops summing in a different order from torch's, so values agree to
float32 rounding and codes agree unless a draw falls within rounding of a CDF step (or logits tie).

From ``TORCH_FROM_BATCH`` streams on, a step is arithmetic-bound and torch's GEMMs beat these loops (paper
size, one thread, busy 2-core machine: the torch engine is 1.7x faster at batch 32 but 1.3x slower at 16 and
3.4x slower at 1), so there the stepper runs the torch engine. State layout is the one of
``DecoderState``: a state moves freely between backends.
"""

from __future__ import annotations

import numba
import numpy as np
import torch

from common.threads import intra_op_threads

TORCH_FROM_BATCH = 24  # from this many streams on, the torch engine steps (see the module docstring)


@numba.njit(cache=True)
def _matmul_add(a, w, out):
    """out (B, O) += a (B, I) @ w (I, O), summed over I in order (the O loop vectorises)."""
    for b in range(a.shape[0]):
        for i in range(a.shape[1]):
            s = a[b, i]
            for o in range(w.shape[1]):
                out[b, o] += s * w[i, o]


@numba.njit(cache=True)
def _steps(mem, base, slots, dilations, x_in, cproj, first, hop, t0, n, noise, inv_temp, greedy, forced,
           codes, logits_out, gate_w, res_w, res_b, skip_w, skip_b, w1, b1, w2, b2, table):
    """Advance every stream by ``n`` samples from absolute step ``t0``; returns the next input (B, R).

    mem: flat ring buffers, layer l at ``base[l]`` as (slots_l, B, R); cproj: (frames, layers, B, 2R);
    gate_w: (layers, K, R, 2R); noise / forced: (n, B) (unused ones may be empty); codes: (B, n) int64;
    logits_out: (B, C, n) when ``forced`` has rows, else unused.
    """
    n_layers, k_taps = gate_w.shape[0], gate_w.shape[1]
    batch, r = x_in.shape
    n_classes = b2.shape[0]
    teacher = forced.shape[0] > 0
    x, x_next = x_in.copy(), np.empty_like(x_in)
    h = np.empty((batch, 2 * r), np.float32)
    z_all, z = np.empty((batch, n_layers * r), np.float32), np.empty((batch, r), np.float32)
    hid1, hid2 = np.empty((batch, skip_b.shape[0]), np.float32), np.empty((batch, b1.shape[0]), np.float32)
    logits = np.empty((batch, n_classes), np.float32)
    cdf = np.empty(n_classes, np.float32)
    for j in range(n):
        t = t0 + j
        frame = (first + j) // hop
        for layer in range(n_layers):
            s, d = slots[layer], dilations[layer]
            buf = mem[base[layer]:base[layer] + s * batch * r].reshape((s, batch, r))
            h[:] = cproj[frame, layer]
            _matmul_add(x, gate_w[layer, 0], h)
            for tap in range(1, k_taps):
                _matmul_add(buf[(t - tap * d) % s], gate_w[layer, tap], h)
            buf[t % s] = x
            for b in range(batch):
                for c in range(r):
                    z[b, c] = np.tanh(h[b, c]) * (np.float32(1) / (np.float32(1) + np.exp(-h[b, r + c])))
            z_all[:, layer * r:(layer + 1) * r] = z
            if layer < n_layers - 1:
                for b in range(batch):
                    for c in range(r):
                        x_next[b, c] = x[b, c] + res_b[layer, c]
                _matmul_add(z, res_w[layer], x_next)
                x, x_next = x_next, x
        for b in range(batch):
            hid1[b] = skip_b
            hid2[b] = b1
            logits[b] = b2
        _matmul_add(z_all, skip_w, hid1)
        np.maximum(hid1, np.float32(0), hid1)
        _matmul_add(hid1, w1, hid2)
        np.maximum(hid2, np.float32(0), hid2)
        _matmul_add(hid2, w2, logits)
        for b in range(batch):
            row = logits[b]
            if teacher:
                logits_out[b, :, j] = row
                code = forced[j, b]
            elif greedy:
                code = np.argmax(row)
            else:
                top = row.max()
                total = 0.0  # float64 running sum, rounded to float32 per entry, as torch's CPU cumsum
                for c in range(n_classes):
                    total += np.exp((row[c] - top) * inv_temp)
                    cdf[c] = total
                bound = noise[j, b] * cdf[n_classes - 1]
                code = 0
                for c in range(n_classes):
                    code += cdf[c] < bound
                code = min(code, n_classes - 1)
            codes[b, j] = code
            x[b] = table[code]
    return x


class NumbaStepper:
    """Weights of an ``IncrementalGenerator`` as numpy views and the launcher of the fused CPU step."""

    def __init__(self, gen):
        r, n_layers, k = gen.residual_channels, len(gen.dilations), gen.kernel_size
        as_np = lambda w: np.ascontiguousarray(w.detach().cpu().float().numpy())  # noqa: E731
        self.gen = gen
        self.gate_w = as_np(gen.gate_w).reshape(n_layers, k, r, 2 * r)
        self.res_w, self.res_b = as_np(gen.res_w), as_np(gen.res_b)
        self.skip_w, self.skip_b = as_np(gen.skip_w), as_np(gen.skip_b)
        self.w1, self.b1 = as_np(gen.head_w1), as_np(gen.head_b1)
        self.w2, self.b2 = as_np(gen.head_w2), as_np(gen.head_b2)
        self.table = as_np(gen.table)
        self.slots = np.array(gen.slots, dtype=np.int64)
        self.dilations = np.array(gen.dilations, dtype=np.int64)

    def run(self, state, cproj, first, hop, n, noise, temperature, forced):
        """Same contract as ``IncrementalGenerator._run``: codes (B, n) and logits (B, NC, n) if forced."""
        b, r = state.batch_size, self.gen.residual_channels
        if b >= TORCH_FROM_BATCH:
            with intra_op_threads(self.gen.cpu_threads):
                return self.gen._run_torch(state, cproj, first, hop, n, noise, temperature, forced)
        base = np.concatenate([[0], np.cumsum(self.slots[:-1] * b * r)]).astype(np.int64)
        codes = np.empty((b, n), dtype=np.int64)
        teacher = forced is not None
        logits = np.empty((b, self.gen.n_classes, n if teacher else 0), dtype=np.float32)
        forced_np = (forced.t().contiguous().numpy() if teacher else np.empty((0, b), dtype=np.int64))
        noise_np = noise.contiguous().numpy() if noise is not None else np.empty((0, b), dtype=np.float32)
        inv_temp = np.float32(1.0 / temperature if temperature > 0 else 1.0)
        x_in = _steps(state.memory.numpy(), base, self.slots, self.dilations,
                      np.ascontiguousarray(state.x_in.numpy()), cproj.contiguous().numpy(), first, hop, state.t,
                      n, noise_np, inv_temp, temperature == 0, forced_np, codes, logits,
                      self.gate_w, self.res_w, self.res_b, self.skip_w, self.skip_b, self.w1, self.b1,
                      self.w2, self.b2, self.table)
        state.x_in = torch.from_numpy(x_in)
        state.t += n
        return torch.from_numpy(codes), (torch.from_numpy(logits) if teacher else None)
