"""common.wavenet: offline decoder vs incremental engine vs naive generator vs fused Triton kernel."""

import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from common.wavenet import (
    IncrementalGenerator,
    WaveNetDecoder,
    WaveNetEncoder,
    naive_generate,
    sample_codes,
    uniform_noise,
)

ROOT = Path(__file__).resolve().parents[2]


def random_decoder(seed: int, conditioned: bool) -> WaveNetDecoder:
    """A small decoder with a random dilation pattern (blocks x layers, kernel size) and channel sizes."""
    rng = random.Random(seed)
    torch.manual_seed(seed)
    return WaveNetDecoder(
        n_blocks=rng.randint(1, 3), n_layers=rng.randint(1, 5), residual_channels=rng.randint(3, 20),
        skip_channels=rng.randint(3, 20), cond_channels=rng.randint(1, 6) if conditioned else 0,
        n_classes=rng.randint(5, 40), kernel_size=rng.choice([2, 2, 3]), cond_hop=rng.randint(1, 9),
        input_embedding=rng.choice(["scalar", "table"])).eval()


def random_inputs(dec: WaveNetDecoder, batch: int, n: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, dec.n_classes, (batch, n), generator=g)
    frames = -(-n // dec.cond_hop)
    cond = torch.randn(batch, dec.cond_channels, frames, generator=g) if dec.cond_channels else None
    return codes, cond


def frames(cond, start, stop):
    return None if cond is None else cond[..., start:stop]


def test_paper_size_decoder_and_encoder():
    dec = WaveNetDecoder()
    assert len(dec.layers) == 56 and dec.dilations[:14] == [2**i for i in range(14)]
    assert dec.receptive_field == 4 * (2**14 - 1) + 1  # ~65k samples, about 4 s at 16 kHz
    codes = torch.randint(0, 256, (1, 800))
    with torch.no_grad():
        assert dec(codes, torch.randn(1, 64, 1)).shape == (1, 256, 800)
        enc = WaveNetEncoder()
        assert len(enc.layers) == 30 and enc(codes).shape == (1, 64, 1)


def test_decoder_is_causal_and_encoder_is_not():
    torch.manual_seed(0)
    dec = WaveNetDecoder(2, 3, 8, 8, 0, 16, input_embedding="table").eval()
    enc = WaveNetEncoder(1, 3, 8, 4, pool=10, n_classes=16).eval()
    codes = torch.randint(0, 16, (1, 60))
    changed = codes.clone()
    changed[0, 30] = (codes[0, 30] + 5) % 16
    with torch.no_grad():
        diff = (dec(codes) - dec(changed)).abs().amax(1)[0]
        assert diff[:31].max() == 0 and diff[31:].max() > 0  # logits[t] only sees codes[:t]
        assert (enc(codes) - enc(changed)).abs()[..., 2].max() > 0  # frame 2 (samples 20-29) sees sample 30


@pytest.mark.parametrize("conditioned", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_teacher_forced_stepping_equals_forward(seed, conditioned):
    dec = random_decoder(seed, conditioned)
    codes, cond = random_inputs(dec, batch=3, n=70, seed=seed)
    with torch.no_grad():
        expected = dec(codes, cond)
    gen = IncrementalGenerator(dec, backend="torch")
    state = gen.start(3)
    hop = dec.cond_hop
    logits = []
    for a, b in [(0, 17), (17, 41), (41, 70)]:  # chunk boundaries off the frame grid, state carried
        logits.append(gen.teacher_force(state, codes[:, a:b], frames(cond, a // hop, None)))
    torch.testing.assert_close(torch.cat(logits, -1), expected, rtol=1e-4, atol=1e-5)
    assert state.t == 70


@pytest.mark.parametrize("temperature", [1.0, 0.7, 0.0])
@pytest.mark.parametrize("seed", [4, 5])
def test_chunked_generation_equals_one_piece(seed, temperature):
    dec = random_decoder(seed, conditioned=True)
    hop, n = dec.cond_hop, 8 * dec.cond_hop + 3
    _, cond = random_inputs(dec, batch=4, n=n, seed=seed)
    gen = IncrementalGenerator(dec, backend="torch")
    whole_state = gen.start(4, seed=11)
    whole = gen.generate(whole_state, cond, n_samples=n, temperature=temperature)
    state, pieces = gen.start(4, seed=11), []
    for a, b in [(0, 2 * hop), (2 * hop, 5 * hop + 1), (5 * hop + 1, n)]:  # aligned, then unaligned
        pieces.append(gen.generate(state, frames(cond, a // hop, None), n_samples=b - a,
                                   temperature=temperature))
    assert torch.equal(torch.cat(pieces, 1), whole)
    torch.testing.assert_close(state.memory, whole_state.memory)
    torch.testing.assert_close(state.x_in, whole_state.x_in)
    if temperature > 0:  # the draws are the stream's noise: passing them explicitly gives the same output
        noise = uniform_noise(11, 0, n, 4)
        state, pieces = gen.start(4, seed=999), []
        for a, b in [(0, 3 * hop + 2), (3 * hop + 2, n)]:
            pieces.append(gen.generate(state, frames(cond, a // hop, None), b - a, temperature, noise[a:b]))
        assert torch.equal(torch.cat(pieces, 1), whole)
        other = gen.generate(gen.start(4, seed=12), cond, n_samples=n, temperature=temperature)
        assert not torch.equal(other, whole)


def test_unconditioned_chunks_and_naive_generator_agree():
    dec = random_decoder(6, conditioned=False)
    gen = IncrementalGenerator(dec)
    assert gen.backend == "numba"  # the CPU default: the fused step
    state = gen.start(2, seed=3)
    chunked = torch.cat([gen.generate(state, n_samples=m) for m in (13, 1, 26)], 1)
    assert torch.equal(chunked, naive_generate(dec, 40, batch_size=2, seed=3))
    cond_dec = random_decoder(7, conditioned=True)
    _, cond = random_inputs(cond_dec, batch=2, n=40, seed=7)
    fast = IncrementalGenerator(cond_dec).generate(IncrementalGenerator(cond_dec).start(2), cond, 40)
    assert torch.equal(fast, naive_generate(cond_dec, 40, cond))


def test_sampling_follows_softmax_with_temperature():
    logits = torch.tensor([[0.0, 1.0, 2.0, -1.0]]).repeat(20000, 1)
    u = uniform_noise(0, 0, 1, 20000)[0]
    assert 0 < u.min() and u.max() < 1 and abs(u.mean().item() - 0.5) < 0.01
    assert torch.equal(uniform_noise(5, 100, 7, 3), uniform_noise(5, 0, 107, 3)[100:])
    for temperature in (1.0, 0.5):
        freq = torch.bincount(sample_codes(logits, u, temperature), minlength=4).float() / 20000
        torch.testing.assert_close(freq, torch.softmax(logits[0] / temperature, 0), atol=0.015, rtol=0)
    assert (sample_codes(logits[:5], u[:5], 0.0) == 2).all()


def test_backend_selection(monkeypatch):
    dec = random_decoder(8, conditioned=False)
    assert IncrementalGenerator(dec, backend="auto").backend == "numba"  # CPU: the fused step
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    with pytest.raises(RuntimeError, match="CUDA"):
        IncrementalGenerator(dec, backend="triton")
    with pytest.raises(ValueError, match="backend"):
        IncrementalGenerator(dec, backend="cuda")
    with pytest.raises(ValueError, match="n_samples"):
        IncrementalGenerator(dec).generate(IncrementalGenerator(dec).start(1))


NUMBA_CASES = [  # seed, conditioned, batch: random shapes, kernel sizes 2 and 3, both embeddings
    (0, True, 3), (1, False, 2), (2, True, 1), (3, False, 4), (9, True, 5)]


@pytest.mark.parametrize("temperature", [1.0, 0.7, 0.0])
@pytest.mark.parametrize("seed, conditioned, batch", NUMBA_CASES)
def test_numba_step_equals_torch_engine(seed, conditioned, batch, temperature):
    """Code for code, over chunks that start on and off the latent-frame grid; the states interchange."""
    dec = random_decoder(seed, conditioned)
    hop, n = dec.cond_hop, 6 * dec.cond_hop + 5
    _, cond = random_inputs(dec, batch, n, seed)
    fused, engine = IncrementalGenerator(dec, backend="numba"), IncrementalGenerator(dec, backend="torch")
    assert fused._stepper is not None and engine._stepper is None
    fs, es = fused.start(batch, seed=5), engine.start(batch, seed=5)
    for a, b in [(0, hop + 2), (hop + 2, 3 * hop), (3 * hop, 3 * hop + 1), (3 * hop + 1, n)]:
        out_f = fused.generate(fs, frames(cond, a // hop, None), b - a, temperature)
        out_e = engine.generate(es, frames(cond, a // hop, None), b - a, temperature)
        assert torch.equal(out_f, out_e), (a, b)
    assert fs.t == es.t == n
    torch.testing.assert_close(fs.memory, es.memory, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(fs.x_in, es.x_in)
    _, more = random_inputs(dec, batch, 2 * hop, seed + 1)
    args = dict(cond=more, n_samples=2 * hop) if conditioned else dict(n_samples=2 * hop)
    n_aligned = -(-n // hop) * hop - n  # finish the current frame first so `more` starts on the grid
    if conditioned and n_aligned:
        last = frames(cond, n // hop, None)
        fused.generate(fs, last, n_aligned, temperature), engine.generate(es, last, n_aligned, temperature)
    assert torch.equal(engine.generate(fs, **args, temperature=temperature),  # fused state, torch engine
                       fused.generate(es, **args, temperature=temperature))  # and the other way round


@pytest.mark.parametrize("seed, conditioned, batch", NUMBA_CASES[:3])
def test_numba_teacher_forcing_equals_forward(seed, conditioned, batch):
    dec = random_decoder(seed, conditioned)
    codes, cond = random_inputs(dec, batch, n=50, seed=seed)
    with torch.no_grad():
        expected = dec(codes, cond)
    gen = IncrementalGenerator(dec, backend="numba")
    state, hop = gen.start(batch), dec.cond_hop
    logits = [gen.teacher_force(state, codes[:, a:b], frames(cond, a // hop, None)) for a, b in [(0, 23), (23, 50)]]
    torch.testing.assert_close(torch.cat(logits, -1), expected, rtol=1e-4, atol=1e-5)


def test_numba_step_at_256_classes_and_large_batches(monkeypatch):
    """256-way sampling over 400 steps (rounding near CDF steps), and the hand-over to the torch engine."""
    from common.wavenet import cpu_step

    torch.manual_seed(0)
    dec = WaveNetDecoder(2, 5, 32, 32, 8, 256, cond_hop=40).eval()
    cond = torch.randn(2, 8, 10)
    fused, engine = IncrementalGenerator(dec, backend="numba"), IncrementalGenerator(dec, backend="torch")
    for temperature in (1.0, 0.0):
        out_f = fused.generate(fused.start(2, seed=1), cond, temperature=temperature)
        assert torch.equal(out_f, engine.generate(engine.start(2, seed=1), cond, temperature=temperature))
    assert len(set(out_f[0].tolist())) > 1
    monkeypatch.setattr(cpu_step, "TORCH_FROM_BATCH", 2)
    calls = []
    monkeypatch.setattr(cpu_step, "_steps", lambda *args: calls.append(args))
    out = fused.generate(fused.start(2, seed=1), cond, temperature=1.0)
    assert not calls and torch.equal(out, engine.generate(engine.start(2, seed=1), cond, temperature=1.0))


def check_triton_kernel(device: str = "cpu") -> None:
    """The fused kernel vs the torch engine (and the offline forward) on tiny configs.

    Run under ``TRITON_INTERPRET=1`` on the CPU (subprocess below) or directly on a CUDA device.
    """
    from common.wavenet import triton_step

    if device == "cpu":
        assert type(triton_step.wavenet_steps_kernel).__name__ == "InterpretedFunction"
    # A: two 32-channel tiles per matmul, conditioning, 2 streams per program (3 streams: one masked);
    # B: kernel size 3 without conditioning, 1 stream per program (the default while SMs are spare).
    configs = [(dict(n_blocks=1, n_layers=2, residual_channels=40, skip_channels=24, cond_channels=3,
                     n_classes=20, kernel_size=2, cond_hop=4, input_embedding="scalar"), 3, 2),
               (dict(n_blocks=1, n_layers=2, residual_channels=12, skip_channels=10, cond_channels=0,
                     n_classes=9, kernel_size=3, input_embedding="table"), 2, 1)]
    for i, (cfg, batch, per_program) in enumerate(configs):
        torch.manual_seed(i)
        dec = WaveNetDecoder(**cfg).eval().to(device)
        codes, cond = random_inputs(dec, batch, n=16, seed=i)  # latent frames cover 16 samples
        codes, cond = codes[:, :10].to(device), cond.to(device) if cond is not None else None
        kernel = IncrementalGenerator(dec, backend="triton", steps_per_launch=4, streams_per_program=per_program)
        engine = IncrementalGenerator(dec, backend="torch")
        assert kernel._stepper is not None and engine._stepper is None
        state = kernel.start(batch)
        logits = torch.cat([kernel.teacher_force(state, codes[:, :6], cond),
                            kernel.teacher_force(state, codes[:, 6:], frames(cond, 6 // 4, None))], -1)
        with torch.no_grad():
            torch.testing.assert_close(logits, dec(codes, cond), rtol=1e-4, atol=1e-5)
        for temperature, n in ((1.0, 10), (0.0, 6)):
            ks, es = kernel.start(batch, seed=1), engine.start(batch, seed=1)
            out_k = kernel.generate(ks, cond, n_samples=n, temperature=temperature)
            out_e = engine.generate(es, cond, n_samples=n, temperature=temperature)
            assert torch.equal(out_k, out_e), (cfg, temperature)
            torch.testing.assert_close(ks.memory, es.memory, rtol=1e-4, atol=1e-5)
            more = dict(cond=frames(cond, n // 4, None), n_samples=5) if cond is not None else dict(n_samples=5)
            assert torch.equal(engine.generate(ks, **more), engine.generate(es, **more))  # same state layout


def test_triton_kernel_matches_engine_under_interpreter():
    pytest.importorskip("triton")
    env = dict(os.environ, TRITON_INTERPRET="1")
    code = "from tests.common.test_wavenet import check_triton_kernel; check_triton_kernel(); print('ok')"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0 and run.stdout.strip().endswith("ok"), run.stderr[-3000:]


@pytest.mark.parametrize("arch", [75, 90])
def test_kernel_compiles_for_several_gpu_generations(arch, tmp_path):
    """Paper-size kernel lowered to machine code for Turing and Hopper without a GPU: no register spills."""
    if os.environ.get("TRITON_INTERPRET") == "1":
        pytest.skip("the interpreter replaces the compiler")
    triton = pytest.importorskip("triton")
    from triton.backends.compiler import GPUTarget

    from common.wavenet.triton_step import wavenet_steps_kernel as kernel

    ints, int_ptrs = {"B", "t0", "first", "hop", "n_steps", "n_layers"}, {"dil_ptr", "forced_ptr", "codes_ptr"}
    consts = dict(R=128, NC=256, RP=128, SP=128, CP=256, K=2, TILE=32, BLOCK_B=2, GREEDY=False, FORCED=False)
    signature = {name: ("constexpr" if name in consts else "i32" if name in ints else "fp32"
                        if name == "inv_temp" else "*i64" if name == "base_ptr" else "*i32"
                        if name in int_ptrs else "*fp32") for name in kernel.arg_names}
    source = triton.compiler.ASTSource(fn=kernel, signature=signature, constexprs={
        (kernel.arg_names.index(name),): value for name, value in consts.items()})
    compiled = triton.compile(source, target=GPUTarget("cuda", arch, 32),
                              options={"num_warps": 4, "num_stages": 1})
    assert compiled.metadata.shared <= 48 * 1024  # fits the default shared memory of every generation
    cuobjdump = Path(triton.__file__).parent / "backends" / "nvidia" / "bin" / "cuobjdump"
    if not cuobjdump.exists():
        pytest.skip("Triton ships no cuobjdump here: compiled, spills not checked")
    (tmp_path / "kernel.cubin").write_bytes(compiled.asm["cubin"])
    usage = subprocess.run([cuobjdump, "--dump-resource-usage", tmp_path / "kernel.cubin"],
                           capture_output=True, text=True, check=True).stdout
    assert re.search(r"STACK:0\b", usage) and not re.search(r"LOCAL:[1-9]", usage), usage  # no spills


@pytest.mark.gpu
def test_triton_kernel_on_cuda():
    with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):  # fp32 reference convolutions
        check_triton_kernel("cuda")
    assert IncrementalGenerator(WaveNetDecoder(1, 2, 8, 8, 0, 16).cuda()).backend == "triton"
