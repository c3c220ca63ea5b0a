"""Fused Triton kernel advancing every layer of a batch of WaveNet streams by one or more samples.

One program owns ``BLOCK_B`` streams and, per sample, runs all layers (gate from the current and the
ring-buffered past inputs, tanh * sigmoid, residual), the skip sum, the output head and the sampling, then
embeds the sampled code as the next input, without leaving the kernel. Matmuls are exact fp32 FMA
reductions over ``TILE x TILE`` weight tiles streamed from memory (no tensor cores, no TF32); activations go
through a small per-stream scratch row, so registers and shared memory stay small on every GPU generation.
Ring buffers have ``(kernel_size - 1) * dilation + 1`` slots: the current input is written before the taps
are read. State layout is the one of ``DecoderState``, so a state can move between backends.

Import this module after setting ``TRITON_INTERPRET=1`` to run the kernel on the CPU (tests).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

_NEG = -1.0e30  # bias of padded classes: never sampled, never the argmax


@triton.jit
def _mac(acc, a_ptr, a_stride, a_valid, rows, rmask, w_ptr, w_stride, k_end, TILE: tl.constexpr):
    """acc (BB, TILE) += A[rows, :k_end] @ W[:k_end, :TILE]; A entries at or past ``a_valid`` read as 0."""
    rt = tl.arange(0, TILE)
    for k0 in range(0, k_end, TILE):
        a = tl.load(a_ptr + rows[:, None] * a_stride + k0 + rt[None, :],
                    mask=rmask[:, None] & (k0 + rt[None, :] < a_valid), other=0.0)
        w = tl.load(w_ptr + (k0 + rt[:, None]) * w_stride + rt[None, :])
        acc += tl.sum(a[:, :, None] * w[None, :, :], axis=1)
    return acc


@triton.jit
def wavenet_steps_kernel(
    mem_ptr, base_ptr, dil_ptr, x_in_ptr, cproj_ptr, table_ptr, scratch_ptr,
    gate_w_ptr, res_w_ptr, res_b_ptr, skip_w_ptr, skip_b_ptr, w1_ptr, b1_ptr, w2_ptr, b2_ptr,
    noise_ptr, forced_ptr, codes_ptr, logits_ptr,
    B, t0, first, hop, n_steps, n_layers, inv_temp,
    R: tl.constexpr, NC: tl.constexpr, RP: tl.constexpr, SP: tl.constexpr, CP: tl.constexpr,
    K: tl.constexpr, TILE: tl.constexpr, BLOCK_B: tl.constexpr, GREEDY: tl.constexpr, FORCED: tl.constexpr,
):
    """Advance streams ``[pid * BLOCK_B, (pid + 1) * BLOCK_B)`` by ``n_steps`` samples.

    mem: ring buffers, layer l at ``base[l]`` laid out (slots_l, B, R); x_in: (B, R) next input;
    cproj: (frames, layers, B, 2R) gate bias per latent frame; table: (CP, RP) input embedding;
    scratch: (programs * BLOCK_B, layers * RP + 2 * SP + CP) gates z of every layer, head activations, logits;
    gate_w: (layers, K, 2, RP, RP) [tap, half, in, out]; res_w: (layers, RP, RP); skip_w: (layers * RP, SP);
    w1: (SP, SP); w2: (SP, CP). noise / forced / codes: (n_steps, B); logits: (n_steps, B, NC) if FORCED.
    """
    rb = tl.program_id(0) * BLOCK_B + tl.arange(0, BLOCK_B)
    rt = tl.arange(0, TILE)
    rr = tl.arange(0, RP)
    rc = tl.arange(0, CP)
    bmask = rb < B
    everyone = rb >= 0
    xmask = bmask[:, None] & (rr[None, :] < R)
    row = rb[:, None] * R + rr[None, :]
    sw = n_layers * RP + 2 * SP + CP  # scratch row: [z of every layer | head hidden 1 | hidden 2 | logits]
    zs = scratch_ptr
    h1s = scratch_ptr + n_layers * RP
    h2s = h1s + SP
    ls = h2s + SP
    x_in = tl.load(x_in_ptr + row, mask=xmask, other=0.0)
    for s in range(n_steps):
        t = t0 + s
        frame = (first + s) // hop
        slots = tl.load(dil_ptr) * (K - 1) + 1
        tl.store(mem_ptr + tl.load(base_ptr) + (t % slots) * B * R + row, x_in, mask=xmask)
        for layer in range(n_layers):
            d = tl.load(dil_ptr + layer)
            slots = d * (K - 1) + 1
            buf = mem_ptr + tl.load(base_ptr + layer)
            tl.debug_barrier()  # this layer's input is in its ring buffer
            for c in range(0, RP, TILE):  # gate channels c .. c + TILE
                cmask = bmask[:, None] & (c + rt[None, :] < R)
                cond = cproj_ptr + ((frame * n_layers + layer) * B + rb[:, None]) * 2 * R + c + rt[None, :]
                acc_a = tl.load(cond, mask=cmask, other=0.0)
                acc_b = tl.load(cond + R, mask=cmask, other=0.0)
                for j in tl.static_range(0, K):  # tap j reads the input j * d samples back
                    src = buf + ((t + slots - j * d) % slots) * B * R
                    w = gate_w_ptr + (layer * K + j) * 2 * RP * RP + c
                    acc_a = _mac(acc_a, src, R, R, rb, bmask, w, RP, RP, TILE)
                    acc_b = _mac(acc_b, src, R, R, rb, bmask, w + RP * RP, RP, RP, TILE)
                z = (2.0 * tl.sigmoid(2.0 * acc_a) - 1.0) * tl.sigmoid(acc_b)  # tanh(a) * sigmoid(b)
                tl.store(zs + rb[:, None] * sw + layer * RP + c + rt[None, :], z)
            tl.debug_barrier()  # z of this layer is in scratch
            if layer < n_layers - 1:  # residual output = next layer's input, written to its ring buffer
                nxt = mem_ptr + tl.load(base_ptr + layer + 1)
                nslots = tl.load(dil_ptr + layer + 1) * (K - 1) + 1
                for c in range(0, RP, TILE):
                    cmask = bmask[:, None] & (c + rt[None, :] < R)
                    cur = rb[:, None] * R + c + rt[None, :]
                    acc = tl.load(buf + (t % slots) * B * R + cur, mask=cmask, other=0.0)
                    acc += tl.load(res_b_ptr + layer * RP + c + rt)[None, :]
                    acc = _mac(acc, zs + layer * RP, sw, RP, rb, everyone, res_w_ptr + layer * RP * RP + c,
                               RP, RP, TILE)
                    tl.store(nxt + (t % nslots) * B * R + cur, acc, mask=cmask)
        for c in range(0, SP, TILE):  # skip sum over all layers -> ReLU
            acc = tl.zeros((BLOCK_B, TILE), dtype=tl.float32) + tl.load(skip_b_ptr + c + rt)[None, :]
            acc = _mac(acc, zs, sw, n_layers * RP, rb, everyone, skip_w_ptr + c, SP, n_layers * RP, TILE)
            tl.store(h1s + rb[:, None] * sw + c + rt[None, :], tl.maximum(acc, 0.0))
        tl.debug_barrier()
        for c in range(0, SP, TILE):  # 1x1 -> ReLU
            acc = tl.zeros((BLOCK_B, TILE), dtype=tl.float32) + tl.load(b1_ptr + c + rt)[None, :]
            acc = _mac(acc, h1s, sw, SP, rb, everyone, w1_ptr + c, SP, SP, TILE)
            tl.store(h2s + rb[:, None] * sw + c + rt[None, :], tl.maximum(acc, 0.0))
        tl.debug_barrier()
        for c in range(0, CP, TILE):  # 1x1 -> logits
            acc = tl.zeros((BLOCK_B, TILE), dtype=tl.float32) + tl.load(b2_ptr + c + rt)[None, :]
            acc = _mac(acc, h2s, sw, SP, rb, everyone, w2_ptr + c, CP, SP, TILE)
            tl.store(ls + rb[:, None] * sw + c + rt[None, :], acc)
        tl.debug_barrier()
        logits = tl.load(ls + rb[:, None] * sw + rc[None, :])
        if FORCED:
            tl.store(logits_ptr + (s * B + rb[:, None]) * NC + rc[None, :], logits,
                     mask=bmask[:, None] & (rc[None, :] < NC))
            code = tl.load(forced_ptr + s * B + rb, mask=bmask, other=0)
        elif GREEDY:
            code = tl.argmax(logits, axis=1)
        else:
            m = tl.max(logits, axis=1)
            cdf = tl.cumsum(tl.exp((logits - m[:, None]) * inv_temp), axis=1)
            u = tl.load(noise_ptr + s * B + rb, mask=bmask, other=0.5)
            below = cdf < (u * tl.max(cdf, axis=1))[:, None]
            code = tl.minimum(tl.sum(below.to(tl.int32), axis=1), NC - 1)
        tl.store(codes_ptr + s * B + rb, code, mask=bmask)
        x_in = tl.load(table_ptr + code[:, None] * RP + rr[None, :])
    tl.store(x_in_ptr + row, x_in, mask=xmask)


def _pad(w: torch.Tensor, shape: tuple[int, ...], fill: float = 0.0) -> torch.Tensor:
    out = torch.full(shape, fill, dtype=torch.float32, device=w.device)
    out[tuple(slice(0, n) for n in w.shape)] = w
    return out.contiguous()


def _pow2(n: int) -> int:
    return max(16, triton.next_power_of_2(n))


class TritonStepper:
    """Packed (padded) weights of an ``IncrementalGenerator`` and the launcher of the step kernel.

    ``streams_per_program`` (power of two <= 4; default: 1 while there are SMs to spare, more for big
    batches) trades parallelism across SMs against weight reuse within a program.
    """

    def __init__(self, gen, streams_per_program: int | None = None):
        self.gen = gen
        r, n_layers, k = gen.residual_channels, len(gen.dilations), gen.kernel_size
        self.rp = rp = _pow2(r)
        self.tile = min(32, rp)  # every padded size is a multiple of the tile
        self.sp, self.cp = sp, cp = max(_pow2(gen.skip_w.shape[1]), self.tile), max(_pow2(gen.n_classes), self.tile)
        halves = gen.gate_w.view(n_layers, k, r, 2, r).permute(0, 1, 3, 2, 4)  # [layer, tap, half, in, out]
        self.gate_w = _pad(halves, (n_layers, k, 2, rp, rp))
        self.res_w = _pad(gen.res_w, (n_layers, rp, rp))
        self.res_b = _pad(gen.res_b, (n_layers, rp))
        self.skip_w = _pad(gen.skip_w.view(n_layers, r, -1), (n_layers, rp, sp))
        self.skip_b = _pad(gen.skip_b, (sp,))
        self.w1, self.b1 = _pad(gen.head_w1, (sp, sp)), _pad(gen.head_b1, (sp,))
        self.w2, self.b2 = _pad(gen.head_w2, (sp, cp)), _pad(gen.head_b2, (cp,), _NEG)
        self.table = _pad(gen.table, (cp, rp))
        self.dil = torch.tensor(gen.dilations, dtype=torch.int32, device=gen.device)
        if streams_per_program not in (None, 1, 2, 4):
            raise ValueError(f"streams_per_program must be 1, 2 or 4, got {streams_per_program}")
        self.streams_per_program = streams_per_program

    def _block(self, batch: int) -> int:
        if self.streams_per_program:
            return self.streams_per_program
        sms = (torch.cuda.get_device_properties(self.gen.device).multi_processor_count
               if self.gen.device.type == "cuda" else 1)
        return min(4, triton.next_power_of_2(triton.cdiv(batch, sms)))

    def run(self, state, cproj, first, hop, n, noise, temperature, forced):
        """Same contract as ``IncrementalGenerator._run``: codes (B, n) and logits (B, NC, n) if forced."""
        gen, b, device = self.gen, state.batch_size, self.gen.device
        sizes = torch.tensor([0] + [s * b * gen.residual_channels for s in gen.slots[:-1]])
        base = sizes.cumsum(0).to(device)
        block = self._block(b)
        grid = (triton.cdiv(b, block),)
        scratch = torch.zeros(grid[0] * block, len(gen.dilations) * self.rp + 2 * self.sp + self.cp,
                              device=device)
        codes = torch.empty(n, b, dtype=torch.int32, device=device)
        logits = torch.empty(n, b, gen.n_classes, device=device) if forced is not None else codes
        forced_t = forced.t().to(torch.int32).contiguous() if forced is not None else codes
        noise = noise.contiguous() if noise is not None else codes
        for j in range(0, n, gen.steps_per_launch):
            m = min(gen.steps_per_launch, n - j)
            f0 = (first + j) // hop  # the launch sees its own frames only (keeps offsets small)
            wavenet_steps_kernel[grid](
                state.memory, base, self.dil, state.x_in, cproj[f0:], self.table, scratch,
                self.gate_w, self.res_w, self.res_b, self.skip_w, self.skip_b,
                self.w1, self.b1, self.w2, self.b2,
                noise[j:], forced_t[j:], codes[j:], logits[j:],
                b, state.t, first + j - f0 * hop, hop, m, len(gen.dilations),
                1.0 / temperature if temperature > 0 else 1.0,
                R=gen.residual_channels, NC=gen.n_classes, RP=self.rp, SP=self.sp, CP=self.cp,
                K=gen.kernel_size, TILE=self.tile, BLOCK_B=block, GREEDY=temperature == 0,
                FORCED=forced is not None, num_warps=4, num_stages=1,
            )
            state.t += m
        return codes.t().long(), (logits.permute(1, 2, 0) if forced is not None else None)
