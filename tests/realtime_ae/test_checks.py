"""Checks that can fail: every claim and every "On new inputs" target says "does not hold" on a degenerate case;
scores against the right reference; example clips are what their captions name; seeds and loss keys reach the
training; frame, time and bin conversions on known tones."""

import numpy as np
import pytest
import scipy.stats
import torch

from realtime_ae import claims, newinputs
from realtime_ae.engine import SynthEngine
from realtime_ae.experiments import SYNTH, Spec, run_config, table_specs

SR, N_FFT, HOP = 44100, 4096, 1024
SEEDS = list(range(6))


def mse_of(values: dict) -> dict:
    """{(spec, seed): per-frame MSE array} from {spec: per-seed MSE list}."""
    return {(s, k): np.full(8, v) for s, per in values.items() for k, v in zip(SEEDS, per)}


def test_every_claim_fails_when_all_models_are_the_same():
    specs = table_specs()
    rng = np.random.default_rng(0)
    base = 1e-3 * (1 + 0.1 * rng.standard_normal(len(SEEDS)))
    same = mse_of({s: base for group in specs.values() for s in group})
    found = claims.claims(specs, same, SEEDS, margin=0.05)
    assert len(found) == 8
    for claim in found:
        if "does not help" in claim.claim:
            assert claim.holds  # identical models: the skip lowers nothing
        else:
            assert not claim.holds, claim.claim
    # the skip 20% better in every seed: "the skip does not help" must fail
    l_no, l_skip, s_no, s_skip = specs["II"]
    better = dict(same)
    better.update(mse_of({l_skip: base * 0.8, s_skip: base * 0.8}))
    skip_claim = next(c for c in claims.claims(specs, better, SEEDS, 0.05) if "does not help" in c.claim)
    assert not skip_claim.holds and "contradicted" in skip_claim.evidence
    assert "with no true difference it shows a margin of" in skip_claim.evidence


def test_no_claim_holds_for_models_that_differ_only_by_noise():
    specs = table_specs()  # every model 1e-3 with independent 20% per-seed noise: no ordering, no equivalence shown
    rng = np.random.default_rng(2)
    noisy = mse_of({s: 1e-3 * (1 + 0.2 * rng.standard_normal(len(SEEDS))) for g in specs.values() for s in g})
    held = [c.claim for c in claims.claims(specs, noisy, SEEDS, margin=0.05) if c.holds]
    assert not held, held


def test_an_ordering_holds_only_in_its_own_direction_and_states_what_it_detects():
    a, b = Spec("violin", 2, "sigmoid", "chroma", True), Spec("violin", 2, "sigmoid", "chroma", False)
    noise = 1 + 0.01 * np.random.default_rng(1).standard_normal(len(SEEDS))
    mse = mse_of({a: 0.9e-3 * noise, b: 1e-3 * np.ones(len(SEEDS))})  # a is 10% lower
    holds, text = claims.lower(mse, a, b, SEEDS)
    assert holds and "detects" in text
    assert not claims.lower(mse, b, a, SEEDS)[0]
    assert not claims.lower(mse_of({a: 1e-3 * noise, b: 1e-3 * noise}), a, b, SEEDS)[0]


def test_power_of_the_paired_t_test():
    # G*Power, two-sided paired t-test, alpha 0.05, power 0.8: n = 10 detects d = 0.994, n = 5 detects d = 1.676
    assert claims.detectable(1.0, 10) == pytest.approx(0.994, abs=0.01)
    assert claims.detectable(1.0, 5) == pytest.approx(1.676, abs=0.02)
    assert claims.power_at(0.994, 1.0, 10) == pytest.approx(0.8, abs=0.005)
    assert claims.detectable(1.0, 1) == float("inf")
    # one-sided (G*Power, one-tailed, n = 10: d = 0.853); a simulation of that test rejects 80% of the time there
    d = claims.detectable(1.0, 10, sides=1)
    assert d == pytest.approx(0.853, abs=0.01)
    x = np.random.default_rng(0).standard_normal((100_000, 10)) + d
    t = x.mean(1) / (x.std(1, ddof=1) / np.sqrt(10))
    assert (t > scipy.stats.t.ppf(0.95, 9)).mean() == pytest.approx(0.8, abs=0.01)
    assert claims.seed_interval([0.9, 1.0, 0.98], bounds=(0.0, 1.0))[2] == 1.0  # an accuracy's interval stops at 1


def harmonic(follow_chroma: bool, loud: float = 1.0):
    """A stand-in decoder: 6 partials of the asked pitch class in octave 4 (or always C)."""
    def decode(z, chroma):
        z, chroma = np.atleast_2d(z), np.atleast_2d(chroma)
        out = np.zeros((len(z), 2049), np.float32)
        for row, c in enumerate(chroma):
            f0 = 261.63 * 2 ** ((int(np.argmax(c)) if follow_chroma else 0) / 12)
            for k in range(1, 7):
                out[row, int(round(f0 * k * N_FFT / SR))] = loud / k
        return out
    return decode


def engine_factory(decoder, **kwargs):
    return lambda: SynthEngine(decoder, 2, SR, N_FFT, HOP, volume=0.5, frames_per_decode=2, **kwargs)


def met(target, value) -> bool:
    return target.met(value)


def test_render_targets_fail_on_degenerate_synths(monkeypatch):
    chroma, clipped, repeat = newinputs.TARGETS
    good = newinputs.synth_row(engine_factory(harmonic(True, 4.0)), [0, 0], [1, 1], count=3)
    assert good["chroma_classes"] == 12 and good["clipped_samples"] == 0 and good["shortest_repeat_s"] >= 10
    assert all(t.met(good[t.measure]) for t in newinputs.TARGETS)
    deaf = newinputs.synth_row(engine_factory(harmonic(False)), [0, 0], [1, 1], count=3)  # ignores the chroma
    assert deaf["chroma_classes"] == 1 and not chroma.met(deaf["chroma_classes"])
    monkeypatch.setattr(SynthEngine, "_limit_block", lambda self, out: None)  # no limiter
    loud = newinputs.synth_row(engine_factory(harmonic(True, 4.0)), [0, 0], [1, 1], count=1)
    assert loud["clipped_samples"] > 0 and not clipped.met(loud["clipped_samples"])
    monkeypatch.setattr("realtime_ae.engine.NOISE_TABLES", (64, 1))  # one table of 64 rows, cycled
    cycled = newinputs.synth_row(engine_factory(harmonic(True)), [0, 0], [1, 1], count=1)
    assert cycled["shortest_repeat_s"] == pytest.approx(64 * HOP / SR) and not repeat.met(cycled["shortest_repeat_s"])


def test_resynth_target_is_against_the_input_and_fails_for_the_clip_mean():
    from common import heldout

    audio = heldout.additive(heldout.random_melody(5, 60, 72, n_notes=4), SR)
    target = newinputs.LSD_TARGETS[0]
    (identity, mean_lsd), = [newinputs.lsd_pair(audio, lambda x: x, N_FFT, HOP)]
    assert identity == pytest.approx(0.0, abs=1e-6) and mean_lsd > 1.0  # scored against the input itself
    row = newinputs.lsd_rows(lambda x: x, {"one": [audio]}, N_FFT, HOP)[0]
    assert target.met(row["lsd_below_mean_db"])

    def clip_mean(x):
        from realtime_ae.synth import frames_and_phase, invert
        frames, peaks, kept, spec = frames_and_phase(x, N_FFT, HOP, "x")
        return invert(frames.mean(0, keepdim=True).expand_as(frames), peaks, kept, spec, HOP, len(x))

    row = newinputs.lsd_rows(clip_mean, {"one": [audio]}, N_FFT, HOP)[0]
    assert abs(row["lsd_below_mean_db"]) < 1e-6 and not target.met(row["lsd_below_mean_db"])


def test_the_judge_hears_the_pitch_class_of_known_tones():
    t = np.arange(int(1.2 * SR)) / SR
    clips = [sum(np.sin(2 * np.pi * 220 * 2 ** (k / 12) * h * t) / h for h in range(1, 5)).astype(np.float32)
             for k in range(12)]
    assert list(newinputs.judge_chroma(clips, SR)) == [(9 + k) % 12 for k in range(12)]  # A3, A#3, ...


def test_the_engine_puts_a_bin_at_its_frequency():
    """Frame/bin conversion of the synth: a decoded frame with one non-zero bin k sounds at k * sr / n_fft."""
    k = 93
    engine = SynthEngine(lambda z, c: np.eye(2049, dtype=np.float32)[np.full(len(np.atleast_2d(z)), k)],
                         1, SR, N_FFT, HOP, phase="advance", volume=0.5)
    audio = engine.render(40)[8 * HOP:]
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    assert np.fft.rfftfreq(len(audio), 1 / SR)[spectrum.argmax()] == pytest.approx(k * SR / N_FFT, abs=2.0)


def test_label_truth_follows_the_frame_times(tiny):
    """Frame n of a clip is centred on sample n * hop: the scheduled note at that time is what the labels are
    scored against; on the tiny corpus the package's labels name it on most frames."""
    from common.corpora.scales import SCALES, scheduled_pitch
    from realtime_ae import data, labels

    pitches, step = SCALES["one_octave"]
    pitch, clean = scheduled_pitch("one_octave", np.array([0.06, step + 0.01, 3 * step + step / 2, 1e3]),
                                   margin=0.05)
    assert list(pitch[:3]) == [pitches[0], pitches[1], pitches[3]] and list(clean) == [True, False, True, False]
    corpus = data.PreparedCorpus(data.prepare(tiny.config()))
    result = labels.accuracy(corpus, "one_octave", cqt_clips=1)
    assert result["frames"] > 100 and result["ours"] > 0.8 and result["test_cqt"] is not None


def test_example_clips_are_what_their_captions_name(tiny, trained):
    from common.audio import load_audio
    from common.spectral import istft
    from realtime_ae import data
    from realtime_ae.module import example_from, load_model

    corpus = data.PreparedCorpus(data.prepare(tiny.config()))
    module = load_model(trained)
    module.example = example_from(corpus, corpus.split_clips("val")[0])
    frames, peaks, chroma, phase = module.example
    audio = module.audio_examples()

    def wave(mags):
        w = istft(torch.polar(mags.T.contiguous(), phase.T.contiguous()), 4096, 1024)
        return w / max(1.0, float(w.abs().max()))

    torch.testing.assert_close(audio["input"][0], wave(frames * peaks[:, None]))
    torch.testing.assert_close(audio["output"][0], wave(module.reconstruct(frames, chroma) * peaks[:, None]))
    assert not torch.allclose(audio["output"][0], audio["input"][0], atol=1e-3)
    clip = corpus.split_clips("test")[0]
    source = load_audio(f"{corpus.index['corpus']}/{clip['name']}", 44100)
    from realtime_ae.figures import audio_examples
    from realtime_ae.synth import resynthesise

    examples = audio_examples(tiny.config("eval.seeds=[0]"), {"one_octave": trained},
                              {"one_octave": (corpus, None, None)})
    roles = {c.role: c.audio for c in examples[0].clips}
    np.testing.assert_array_equal(roles["input"], source)
    np.testing.assert_array_equal(roles["output"], resynthesise(module, f"{corpus.index['corpus']}/{clip['name']}")[0])


def test_seeds_reach_the_weights_and_every_eval_seed_is_its_own_run(tiny):
    cfg = tiny.config()
    spec = Spec("one_octave", 2, "sigmoid", "chroma", True)
    runs = [run_config(cfg, spec, k, t) for k in (0, 1) for t in (1, 2)]
    assert [(r.run.seed, r.threads) for r in runs] == [(0, 1), (0, 2), (1, 1), (1, 2)]
    assert len({r.run.name for r in runs}) == 4
    synth = run_config(cfg, SYNTH, 0, 1).optim  # the synthesizer's model trains with its log-magnitude term
    assert synth.log_weight == cfg.eval.default_log_weight != cfg.optim.log_weight
    weights = {}
    for name, seed, lr in (("s0", 0, 5e-4), ("s0again", 0, 5e-4), ("s1", 1, 5e-4), ("i0", 0, 0), ("i1", 1, 0)):
        assert tiny.run("train", f"run.name={name}", f"run.seed={seed}", "trainer.max_steps=1", f"optim.lr={lr}") == 0
        weights[name] = torch.load(tiny.root / f"runs/realtime_ae/{name}/checkpoints/last.ckpt",
                                   weights_only=False)["state_dict"]["net.encoder.0.weight"]
    assert torch.equal(weights["s0"], weights["s0again"]) and not torch.equal(weights["s0"], weights["s1"])
    assert not torch.equal(weights["i0"], weights["i1"])  # lr 0: the initial weights themselves follow run.seed


@pytest.mark.parametrize(("key", "value"), [("l2", 1e-2), ("log_weight", 0.5), ("log_floor", 1e-1), ("lr", 1e-2)])
def test_every_loss_and_optimizer_key_changes_training(key, value):
    from realtime_ae.module import FrameAutoencoder

    def one_step(optim):
        torch.manual_seed(0)
        model = dict(hidden=[16], bottleneck=2, activation="sigmoid", augmentation="chroma", skip=True,
                     variational=False, beta=1.0, init="glorot")
        module = FrameAutoencoder(bins=2049, model=model, optim=optim, features={})
        frames, chroma = torch.rand(8, 2049), torch.eye(12)[:8]
        optimizer = module.configure_optimizers()
        loss = module.losses(frames, chroma)["loss"]
        loss.backward()
        optimizer.step()
        return float(loss.detach()), module.net.decoder.out.weight.detach().clone()

    base = {"lr": 5e-4, "l2": 1e-7, "log_weight": 0.1, "log_floor": 1e-3}
    loss, weights = one_step(base)
    other_loss, other_weights = one_step({**base, key: value})
    assert other_loss != pytest.approx(loss, rel=1e-6) or key == "lr"
    assert not torch.allclose(weights, other_weights, atol=0, rtol=1e-7)
