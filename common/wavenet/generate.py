"""Autoregressive WaveNet generation: incremental engine with per-layer ring buffers, and sampling.

A step costs O(layers): each layer keeps its last ``(kernel_size - 1) * dilation + 1`` inputs in a ring
buffer, so nothing is recomputed. Many independent streams run as one batch. The conditioning projection of
every layer is computed once per latent frame. All decoder state lives in ``DecoderState``, so a long file
generated chunk by chunk equals the file generated in one piece (random draws come from a counter-based
noise stream indexed by absolute sample position).

Backends: ``"torch"`` (this module, any device), ``"triton"`` (fused step kernel, ``triton_step.py``; CUDA,
or CPU under ``TRITON_INTERPRET=1``), ``"numba"`` (fused compiled CPU step, ``cpu_step.py``) and ``"auto"``
(triton on CUDA when installed, numba on the CPU, torch elsewhere).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass

import torch

from common.threads import intra_op_threads
from common.wavenet.layers import WaveNetDecoder

_M1, _M2, _MASK32 = 0x7FEB352D, 0x5BD1E995, 0xFFFFFFFF  # multipliers < 2**31: products fit in int64


def _mix32(x: torch.Tensor) -> torch.Tensor:
    """Integer hash of 32-bit values held in int64 (xorshift-multiply rounds)."""
    x = x ^ (x >> 16)
    x = (x * _M1) & _MASK32
    x = x ^ (x >> 15)
    x = (x * _M2) & _MASK32
    return x ^ (x >> 16)


def uniform_noise(seed: int, start: int, n_steps: int, batch_size: int, device=None) -> torch.Tensor:
    """Uniform draws in (0, 1) for absolute steps ``start .. start + n_steps - 1``: (n_steps, batch_size).

    A pure function of (seed, stream, step), so draws do not depend on chunking, launches or device.
    """
    t = torch.arange(start, start + n_steps, device=device, dtype=torch.int64)[:, None]
    b = torch.arange(batch_size, device=device, dtype=torch.int64)[None, :]
    h = _mix32(torch.full((1, 1), seed & _MASK32, device=device, dtype=torch.int64))
    h = _mix32(_mix32(_mix32(h ^ b) ^ (t & _MASK32)) ^ (t >> 32))
    return ((h >> 9).double() + 0.5).div(2**23).float()


def sample_codes(logits: torch.Tensor, u: torch.Tensor, temperature: float) -> torch.Tensor:
    """Draw one code per row of ``logits`` (B, n_classes) by inverse CDF at ``u`` (B,); argmax if T = 0.

    Sampling from ``softmax(logits / temperature)``; returns (B,) long.
    """
    if temperature == 0:
        return logits.argmax(-1)
    w = torch.exp((logits - logits.amax(-1, keepdim=True)) * (1.0 / temperature))
    cdf = w.cumsum(-1)
    return (cdf < u[:, None] * cdf[:, -1:]).sum(-1).clamp_(max=logits.shape[-1] - 1)


@dataclass
class DecoderState:
    """Everything generation carries across chunks, for ``batch_size`` independent streams.

    memory: flat storage of all ring buffers; ``buffers[l]`` is a (slots_l, B, R) view with
    ``slots_l = (kernel_size - 1) * dilation_l + 1`` holding layer l's input of step t at slot ``t % slots_l``.
    x_in: (B, R) embedded input of the next step (zeros before the first sample).
    t: number of samples generated so far; seed: seed of the noise stream.
    Size at the paper configuration: 65,588 slots x 128 channels x 4 bytes = 34 MB per stream.
    """

    memory: torch.Tensor
    buffers: list[torch.Tensor]
    x_in: torch.Tensor
    t: int
    seed: int

    @property
    def batch_size(self) -> int:
        return self.x_in.shape[0]


class IncrementalGenerator:
    """Fast autoregressive generation from a ``WaveNetDecoder`` (a snapshot of its weights at construction).

    ``backend``: ``"auto"`` (fused Triton kernel on CUDA, fused numba step on the CPU, torch engine otherwise),
    ``"torch"``, ``"triton"`` (needs CUDA, or ``TRITON_INTERPRET=1`` for a CPU run of the kernel) or
    ``"numba"`` (CPU; hands batches of ``cpu_step.TORCH_FROM_BATCH`` streams or more to the torch engine).
    ``steps_per_launch`` and ``streams_per_program`` tune the kernel launches (triton backend).
    ``cpu_threads``: torch intra-op threads while the torch engine steps on the CPU (the numba step is
    serial). Default 1: its ops are tiny (at most batch x 2R matmuls), and threading them costs more than
    it saves, badly so on a busy machine; scale with the batch instead. None leaves torch's setting.
    """

    def __init__(self, decoder: WaveNetDecoder, backend: str = "auto", steps_per_launch: int = 256,
                 streams_per_program: int | None = None, cpu_threads: int | None = 1):
        if backend not in ("auto", "torch", "triton", "numba"):
            raise ValueError(f"backend must be 'auto', 'torch', 'triton' or 'numba', got {backend!r}")
        self.device = next(decoder.parameters()).device
        if backend == "auto":  # the kernel on CUDA when Triton is installed, the fused step on the CPU
            use_kernel = self.device.type == "cuda" and importlib.util.find_spec("triton") is not None
            backend = "triton" if use_kernel else "numba" if self.device.type == "cpu" else "torch"
        if backend == "triton" and self.device.type != "cuda" and os.environ.get("TRITON_INTERPRET") != "1":
            raise RuntimeError("backend='triton' needs the decoder on a CUDA device "
                               "(or TRITON_INTERPRET=1 to run the kernel on the CPU for testing)")
        self.backend, self.steps_per_launch = backend, steps_per_launch
        self.cpu_threads = cpu_threads if self.device.type == "cpu" and backend in ("torch", "numba") else None
        self.dilations, self.kernel_size = decoder.dilations, decoder.kernel_size
        self.cond_channels, self.cond_hop, self.n_classes = (decoder.cond_channels, decoder.cond_hop,
                                                             decoder.n_classes)
        self.residual_channels = decoder.residual_channels
        layers = decoder.layers
        with torch.no_grad():
            # gate_w[l, j]: (R, 2R) applied to the layer input j * dilation steps back ([in, out] layout)
            self.gate_w = torch.stack([ly.conv.weight.flip(-1).permute(2, 1, 0) for ly in layers]).float()
            self.gate_b = torch.cat([ly.conv.bias + (ly.cond.bias if ly.cond is not None else 0)
                                     for ly in layers]).float()
            self.cond_w = (torch.cat([ly.cond.weight[..., 0] for ly in layers]).t().float().contiguous()
                           if self.cond_channels else None)
            self.res_w = torch.stack([ly.residual.weight[..., 0].t() for ly in layers]).float().contiguous()
            self.res_b = torch.stack([ly.residual.bias for ly in layers]).float()
            self.skip_w = torch.cat([ly.skip.weight[..., 0].t() for ly in layers]).float().contiguous()
            self.skip_b = sum(ly.skip.bias for ly in layers).float()
            conv1, conv2 = decoder.head[1], decoder.head[3]
            self.head_w1, self.head_b1 = conv1.weight[..., 0].t().float().contiguous(), conv1.bias.float()
            self.head_w2, self.head_b2 = conv2.weight[..., 0].t().float().contiguous(), conv2.bias.float()
            self.table = decoder.input_table().float().contiguous()
        self.slots = [(self.kernel_size - 1) * d + 1 for d in self.dilations]
        self._stepper = None
        if backend == "triton":
            from common.wavenet.triton_step import TritonStepper  # imported lazily: reads TRITON_INTERPRET

            self._stepper = TritonStepper(self, streams_per_program)
        elif backend == "numba":
            if self.device.type != "cpu":
                raise RuntimeError("backend='numba' runs on the CPU; move the decoder there or use 'triton'")
            from common.wavenet.cpu_step import NumbaStepper

            self._stepper = NumbaStepper(self)

    def start(self, batch_size: int, seed: int = 0) -> DecoderState:
        """Fresh state for ``batch_size`` streams (silence before t = 0, as in the offline forward pass)."""
        r = self.residual_channels
        memory = torch.zeros(sum(self.slots) * batch_size * r, device=self.device)
        buffers, offset = [], 0
        for s in self.slots:
            buffers.append(memory[offset:offset + s * batch_size * r].view(s, batch_size, r))
            offset += s * batch_size * r
        x_in = torch.zeros(batch_size, r, device=self.device)
        return DecoderState(memory, buffers, x_in, 0, seed)

    def conditioning(self, cond: torch.Tensor | None, batch_size: int) -> torch.Tensor:
        """Per-frame gate bias of every layer, ``W_c z + b``: (frames, layers, B, 2R); 1 frame if no cond."""
        n_layers, r2 = len(self.dilations), 2 * self.residual_channels
        if cond is None:
            return self.gate_b.view(1, n_layers, 1, r2).expand(1, n_layers, batch_size, r2).contiguous()
        proj = torch.matmul(cond.float().transpose(1, 2), self.cond_w) + self.gate_b  # (B, F, L*2R)
        return proj.view(batch_size, -1, n_layers, r2).permute(1, 2, 0, 3).contiguous()

    @torch.no_grad()
    def generate(self, state: DecoderState, cond: torch.Tensor | None = None, n_samples: int | None = None,
                 temperature: float = 1.0, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Generate the next samples of every stream, advancing ``state`` in place. Returns (B, n) long codes.

        cond: (B, cond_channels, F) latent frames, the first being the frame that contains sample
        ``state.t`` (frames sit on the absolute grid ``t // cond_hop``); ``n_samples`` defaults to the
        samples those frames cover. noise: optional (n, B) uniform draws; by default the stream's own
        ``uniform_noise(state.seed, state.t, n, B)``. temperature 0 means argmax.
        """
        n, cproj, first, hop = self._schedule(state, cond, n_samples)
        if noise is None:
            noise = uniform_noise(state.seed, state.t, n, state.batch_size, self.device)
        codes, _ = self._run(state, cproj, first, hop, n, noise.to(self.device).float(), temperature, None)
        return codes

    @torch.no_grad()
    def teacher_force(self, state: DecoderState, codes: torch.Tensor,
                      cond: torch.Tensor | None = None) -> torch.Tensor:
        """Step through given codes (B, n), advancing ``state``; returns the logits (B, n_classes, n)."""
        n, cproj, first, hop = self._schedule(state, cond, codes.shape[1])
        _, logits = self._run(state, cproj, first, hop, n, None, 1.0, codes.to(self.device))
        return logits

    def _schedule(self, state, cond, n_samples):
        """Chunk bookkeeping: (n, conditioning, frame phase of the first sample, hop)."""
        if (cond is None) != (not self.cond_channels):
            raise ValueError("cond must be given exactly when the decoder has cond_channels > 0")
        if cond is None:
            if n_samples is None:
                raise ValueError("n_samples is required without conditioning")
            return n_samples, self.conditioning(None, state.batch_size), 0, n_samples + 1
        first = state.t % self.cond_hop
        available = cond.shape[-1] * self.cond_hop - first
        n = available if n_samples is None else n_samples
        if n > available:
            raise ValueError(f"{cond.shape[-1]} latent frames cover {available} samples from t={state.t}, "
                             f"fewer than the {n} requested")
        return n, self.conditioning(cond, state.batch_size), first, self.cond_hop

    def _run(self, state, cproj, first, hop, n, noise, temperature, forced):
        """Advance ``n`` steps; returns codes (B, n) and, when teacher-forced, logits (B, n_classes, n)."""
        if self._stepper is not None:
            return self._stepper.run(state, cproj, first, hop, n, noise, temperature, forced)
        with intra_op_threads(self.cpu_threads):
            return self._run_torch(state, cproj, first, hop, n, noise, temperature, forced)

    def _run_torch(self, state, cproj, first, hop, n, noise, temperature, forced):
        b, r = state.batch_size, self.residual_channels
        n_layers, k = len(self.dilations), self.kernel_size
        codes = torch.empty(b, n, dtype=torch.long, device=self.device)
        logits_out = torch.empty(b, self.n_classes, n, device=self.device) if forced is not None else None
        z_all = torch.empty(b, n_layers * r, device=self.device)
        x_in = state.x_in
        for j in range(n):
            t, c = state.t, cproj[(first + j) // hop]
            x = x_in
            for l, (buf, d, s) in enumerate(zip(state.buffers, self.dilations, self.slots)):
                h = torch.addmm(c[l], x, self.gate_w[l, 0])
                for tap in range(1, k):
                    h.addmm_(buf[(t - tap * d) % s], self.gate_w[l, tap])
                buf[t % s] = x
                z = torch.mul(torch.tanh(h[:, :r]), torch.sigmoid(h[:, r:]), out=z_all[:, l * r:(l + 1) * r])
                if l < n_layers - 1:
                    x = torch.addmm(x + self.res_b[l], z, self.res_w[l])
            h = torch.addmm(self.skip_b, z_all, self.skip_w).relu_()
            h = torch.addmm(self.head_b1, h, self.head_w1).relu_()
            logits = torch.addmm(self.head_b2, h, self.head_w2)
            if forced is not None:
                logits_out[:, :, j] = logits
                code = forced[:, j]
            else:
                code = sample_codes(logits, noise[j], temperature)
            codes[:, j] = code
            x_in = self.table[code]
            state.t += 1
        state.x_in = x_in
        return codes, logits_out


@torch.no_grad()
def naive_generate(decoder: WaveNetDecoder, n_samples: int, cond: torch.Tensor | None = None,
                   batch_size: int = 1, temperature: float = 1.0, seed: int = 0) -> torch.Tensor:
    """Reference generator: every step reruns the offline forward pass over the whole receptive field.

    Same sampling and noise stream as ``IncrementalGenerator`` (so equal codes for equal seeds).
    cond: (B, cond_channels, F) from t = 0. Returns (B, n_samples) long codes.
    """
    device = next(decoder.parameters()).device
    b = cond.shape[0] if cond is not None else batch_size
    hop, rf = decoder.cond_hop, decoder.receptive_field
    codes = torch.zeros(b, n_samples + 1, dtype=torch.long, device=device)
    noise = uniform_noise(seed, 0, n_samples, b, device)
    for t in range(n_samples):
        start = max(0, t - rf)
        if cond is not None:
            start -= start % hop  # window starts on a frame boundary so the latent frames line up
        window = codes[:, start:t + 1]  # codes[:, t] is a placeholder: the input is shifted by one
        c = cond[..., start // hop:] if cond is not None else None
        logits = decoder(window, c)[..., -1]
        codes[:, t] = sample_codes(logits, noise[t], temperature)
    return codes[:, :n_samples]
