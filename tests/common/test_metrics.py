"""common.metrics against direct mir_eval / scikit-learn calls and hand-computed values."""

import librosa
import mir_eval
import numpy as np
import pytest
import sklearn.metrics
import torch

from common import metrics

pytestmark = pytest.mark.filterwarnings("ignore:mir_eval.separation:FutureWarning")


@pytest.fixture(scope="module")
def separation_case():
    """Voice and accompaniment (0.5 s at 8 kHz), their mixture, and an imperfect voice estimate."""
    rng = np.random.default_rng(0)
    t = np.arange(4000) / 8000
    voice = np.sin(2 * np.pi * 440 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    accompaniment = 0.5 * rng.standard_normal(4000)
    mixture = voice + accompaniment
    voice_est = voice + 0.3 * accompaniment + 0.05 * rng.standard_normal(4000)
    reference = np.stack([voice, accompaniment])
    estimate = np.stack([voice_est, mixture - voice_est])
    return reference, estimate, mixture


def test_separation_scores_equal_mir_eval(separation_case):
    reference, estimate, mixture = separation_case
    scores = metrics.separation_scores(reference, estimate, mixture)
    sdr, sir, sar, _ = mir_eval.separation.bss_eval_sources(reference, estimate, compute_permutation=False)
    np.testing.assert_allclose(scores["SDR"], sdr)
    np.testing.assert_allclose(scores["SIR"], sir)
    np.testing.assert_allclose(scores["SAR"], sar)
    mixture_sdr = mir_eval.separation.bss_eval_sources(reference, np.stack([mixture, mixture]), False)[0]
    np.testing.assert_allclose(scores["NSDR"], sdr - mixture_sdr)
    assert scores["NSDR"][0] > 0  # the estimate improves on the mixture for the voice
    assert metrics.MIR_EVAL_VERSION == mir_eval.__version__


def test_separation_accepts_torch_and_checks_shapes(separation_case):
    reference, estimate, _ = separation_case
    from_torch = metrics.separation_scores(torch.from_numpy(reference), torch.from_numpy(estimate))
    np.testing.assert_allclose(from_torch["SDR"], metrics.separation_scores(reference, estimate)["SDR"])
    with pytest.raises(ValueError, match="same shape"):
        metrics.separation_scores(reference, estimate[:1])
    with pytest.raises(ValueError, match="non-silent"):
        metrics.separation_scores(np.zeros_like(reference), estimate)
    with pytest.raises(ValueError, match="mixture"):
        metrics.separation_scores(reference, estimate, mixture=np.ones(10))


def test_length_weighted_global_scores():
    per_item = [{"SDR": np.array([1.0, 2.0]), "NSDR": np.array([0.5, 0.0])},
                {"SDR": np.array([4.0, 8.0]), "NSDR": np.array([2.0, 1.0])}]
    result = metrics.length_weighted_mean(per_item, [100, 300])
    np.testing.assert_allclose(result["GSDR"], [(100 * 1 + 300 * 4) / 400, (100 * 2 + 300 * 8) / 400])
    np.testing.assert_allclose(result["GNSDR"], [(50 + 600) / 400, 300 / 400])
    with pytest.raises(ValueError, match="positive length"):
        metrics.length_weighted_mean(per_item, [100])


def test_raw_chroma_accuracy_equals_mir_eval():
    rng = np.random.default_rng(1)
    ref_times = np.arange(200) * 0.01
    ref_f0 = np.repeat(220 * 2 ** (rng.integers(0, 12, 20) / 12) * (rng.random(20) > 0.2), 10)  # 0.1 s notes
    est_times = np.arange(100) * 0.02 + 0.005
    est_f0 = ref_f0[np.rint(est_times * 100).astype(int) % 200] * rng.choice([1, 2, 2 ** (1 / 12)], 100)
    est_f0[rng.random(100) < 0.1] = np.nan  # unvoiced as librosa.pyin reports it
    ours = metrics.raw_chroma_accuracy(ref_times, ref_f0, est_times, est_f0)
    expected = mir_eval.melody.evaluate(ref_times, ref_f0, est_times, np.nan_to_num(est_f0))["Raw Chroma Accuracy"]
    assert ours == pytest.approx(expected)
    assert 0.0 < ours < 1.0
    # Octave errors count as correct, a semitone off does not (tolerance 50 cents).
    assert metrics.raw_chroma_accuracy(ref_times, ref_f0, ref_times, ref_f0 * 4) == pytest.approx(1.0)
    assert metrics.raw_chroma_accuracy(ref_times, ref_f0, ref_times, ref_f0 * 2 ** (1 / 12)) == 0.0


def test_log_spectral_distance_db_definition():
    rng = np.random.default_rng(2)
    S = rng.random((2, 65, 30)) + 0.1
    assert metrics.log_spectral_distance(S, S) == 0.0
    assert metrics.log_spectral_distance(S, 10 * S) == pytest.approx(20.0)  # every bin 20 dB off
    S_est = S * rng.uniform(0.5, 2.0, S.shape)
    expected = np.mean(np.sqrt(np.mean((librosa.amplitude_to_db(S, ref=1.0, top_db=None)
                                        - librosa.amplitude_to_db(S_est, ref=1.0, top_db=None)) ** 2, axis=-2)))
    assert metrics.log_spectral_distance(torch.from_numpy(S), S_est) == pytest.approx(expected)
    in_band = metrics.log_spectral_distance(S, S_est, bins=slice(5, 20))
    assert in_band == pytest.approx(np.mean(np.sqrt(np.mean(
        (20 * np.log10(S[:, 5:20]) - 20 * np.log10(S_est[:, 5:20])) ** 2, axis=-2))))


def test_log_spectral_distance_reference_variant():
    rng = np.random.default_rng(3)
    n = 16000  # one second at 16 kHz, the reference code's rate (n_fft 1024, hop 128)
    ref, est = rng.standard_normal(n), rng.standard_normal(n + 300)
    S_ref, S_est = (np.abs(librosa.stft(x, n_fft=1024, hop_length=128)) for x in (ref, est))
    expected = np.mean(np.sqrt(np.sum((np.log(0.1 + S_ref[7:220]) - np.log(0.1 + S_est[7:220, : S_ref.shape[1]])) ** 2,
                                      axis=0)))
    assert metrics.log_spectral_distance(S_ref, S_est, variant="reference") == pytest.approx(expected)
    with pytest.raises(ValueError, match="variant"):
        metrics.log_spectral_distance(S_ref, S_est, variant="rms")
    with pytest.raises(ValueError, match="at least as many"):
        metrics.log_spectral_distance(S_est, S_ref)


def test_macro_f1_equals_scikit_learn():
    rng = np.random.default_rng(4)
    y_true, y_pred = rng.integers(0, 6, 300), rng.integers(0, 7, 300)
    y_pred[:150] = y_true[:150]
    assert metrics.macro_f1(y_true, y_pred) == pytest.approx(sklearn.metrics.f1_score(y_true, y_pred, average="macro"))
    labels = [0, 1, 2, 9]
    assert metrics.macro_f1(y_true, y_pred, labels=labels) == pytest.approx(
        sklearn.metrics.f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))
    assert metrics.macro_f1(["a", "b"], ["a", "b"]) == 1.0
    with pytest.raises(ValueError, match="equally long"):
        metrics.macro_f1([1, 2], [1])


@pytest.mark.parametrize("source", [0, 1])
def test_source_scorer_equals_mir_eval_for_every_estimate(separation_case, source):
    """One factorisation of the references, many estimates: the numbers of a full bss_eval each time."""
    reference, estimate, mixture = separation_case
    scorer = metrics.SourceScorer(reference, source)
    for est in (estimate, np.stack([mixture, mixture]), np.stack([0.5 * mixture, estimate[0] * 0.3 + 0.1])):
        sdr, sir, sar, _ = mir_eval.separation.bss_eval_sources(reference, est, compute_permutation=False)
        ours, theirs = np.array(list(scorer(est[source]).values())), np.array([sdr[source], sir[source], sar[source]])
        exact = theirs < 100  # above 100 dB (the mixture's SAR: no artifacts) both are rounding noise
        np.testing.assert_allclose(ours[exact], theirs[exact], rtol=1e-7, atol=1e-7)
        assert (ours[~exact] > 100).all()
    with pytest.raises(ValueError, match="non-silent"):
        metrics.SourceScorer(np.stack([reference[0], 0 * reference[1]]))
