"""Every claim check of the report can fail: degenerate outputs and pickers give "does not hold", real effects
give "holds", and each row states the smallest effect it can detect."""

import numpy as np

from music_translation import claims, scores

HOP = scores.HOP_SECONDS


def melody_contour(rng, seconds=5.0, rest=0.1):
    """A random melody as a contour: notes of 0.3-0.6 s, MIDI 57-77, short unvoiced gaps between them."""
    n = int(seconds / HOP)
    f0, i = np.zeros(n), 0
    while i < n:
        length, pitch = int(rng.uniform(0.3, 0.6) / HOP), rng.integers(57, 78)
        f0[i:i + length] = 440 * 2 ** ((pitch - 69) / 12)
        i += length + int(rest / HOP)
    return np.arange(n) * HOP, f0


def table2(outputs, inputs, partners):
    shift = scores.frames_of(0.25)
    tr = [scores.pitch_scores(a, b, shift)[0] for a, b in zip(inputs, outputs)]
    ch = [scores.chance_scores(a, b, partners, shift)[0] for a, b in zip(inputs, outputs)]
    return claims.keeps_pitch("test", tr, ch, 1)


def test_keeps_pitch_fails_for_a_constant_pitch_with_the_inputs_voicing_and_holds_for_the_melody():
    rng = np.random.default_rng(0)
    inputs = [melody_contour(rng) for _ in range(20)]
    partners = [melody_contour(rng) for _ in range(5)]
    constant = [(t, np.where(f0 > 0, 440.0, 0.0)) for t, f0 in inputs]
    claim = table2(constant, inputs, partners)
    assert not claim.holds and "smallest detectable difference" in claim.evidence
    unrelated = [partners[i % 5] for i in range(20)]  # another melody, full voicing
    assert not table2(unrelated, inputs, partners).holds
    detuned = [(t, f0 * 2 ** (0.3 / 12)) for t, f0 in inputs]  # the melody 30 cents sharp: the pitch is kept
    assert table2(detuned, inputs, partners).holds


def test_voicing_alone_scores_nothing():
    """NCC, DTW and RPA look at frames voiced in both: the input's voicing with a constant pitch scores ~0, the
    voicing measures are apart."""
    rng = np.random.default_rng(1)
    t, f0 = melody_contour(rng)
    ncc, dtw, rpa, ratio, recall, false_alarm = scores.pitch_scores((t, f0), (t, np.where(f0 > 0, 300.0, 0)), 15)
    assert ncc == 0.0 and dtw == 0.0 and rpa < 0.3 and ratio == 1.0 and recall == 1.0 and false_alarm == 0.0
    ncc, dtw, rpa, *_ = scores.pitch_scores((t, f0), (t, f0), 15)
    assert ncc > 0.99 and dtw > 0.99 and rpa == 1.0


def test_chance_sees_the_partner_through_the_outputs_voicing():
    t = np.arange(100) * HOP
    partner = (t, np.full(100, 440.0))
    voicing = np.r_[np.ones(30, bool), np.zeros(70, bool)]
    _, f0 = scores.seen_through(partner, voicing)
    assert (f0[:30] == 440).all() and (f0[30:] == 0).all()


def one_class(k, sets, pick):
    confusion = np.zeros((k, k), int)
    for s in range(sets):
        confusion[s % k, pick(s % k)] += 1
    return confusion


def test_lineup_is_not_testable_with_a_one_decoder_picker():
    always_first = one_class(3, 36, lambda source: 0)
    claim = claims.lineup(always_first, always_first)
    assert not claim.holds and claim.evidence.startswith("not testable")
    perfect = one_class(3, 36, lambda source: source)
    assert claims.lineup(always_first, perfect).holds  # the control works, the test picks at chance
    assert not claims.lineup(perfect, perfect).holds  # the source is found: the translations are not authentic
    assert "smallest accuracy detectable with 36 sets" in claims.lineup(perfect, perfect).evidence


def test_detectable_accuracy_shrinks_with_more_sets():
    assert 1 / 3 < claims.detectable_accuracy(300, 3) < claims.detectable_accuracy(36, 3) < 1


def test_rank_statistic_needs_the_same_pitch_nearest():
    rng = np.random.default_rng(0)
    n = 20
    code = rng.standard_normal((n, 8))
    pitch = [scores_cos(code + 0.2 * rng.standard_normal((n, 8)), code) for _ in range(2)]
    stats = claims.rank_statistics(pitch, permutations=500)
    assert claims.same_pitch_nearest("a:b", stats, 2).holds and stats["top1"] > 0.8
    register = np.repeat([[1.0, 0.0], [0.0, 1.0]], n // 2, axis=0)  # two register blocks, no pitch
    blocks = [scores_cos(register + 0.01 * rng.standard_normal((n, 2)), register) for _ in range(2)]
    stats = claims.rank_statistics(blocks, permutations=500)
    assert stats["auc"] > 0.6 and not claims.same_pitch_nearest("a:b", stats, 2).holds
    same = [np.ones((n, n))]  # every note the same embedding
    assert not claims.same_pitch_nearest("a:b", claims.rank_statistics(same, permutations=200), 1).holds


def scores_cos(b, a):
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return b @ a.T


def test_chance_scores_use_the_outputs_voicing():
    """A translation voiced on its first third only is compared with partners seen through that voicing: chance
    equals the scores of the partners cut to those frames."""
    rng = np.random.default_rng(2)
    ref, out = melody_contour(rng), melody_contour(rng)
    out = (out[0], np.where(np.arange(len(out[1])) < len(out[1]) // 3, out[1], 0.0))
    partners = [melody_contour(rng) for _ in range(3)]
    expected = np.mean([scores.pitch_scores(ref, scores.seen_through(p, out[1] > 0), 15)[:3] for p in partners], 0)
    np.testing.assert_allclose(scores.chance_scores(ref, out, partners, 15), expected)
    full = np.mean([scores.pitch_scores(ref, p, 15)[:3] for p in partners], 0)
    assert not np.allclose(expected, full)


def test_the_picker_is_calibrated_per_decoder():
    """Decoder 0's clips all score high and decoder 2's low: an uncalibrated argmax always picks decoder 0, the
    calibrated picker finds the source wherever its clip stands out from that decoder's translations."""
    from music_translation import lineup

    rng = np.random.default_rng(0)
    offset = np.array([3.0, 0.0, -3.0])
    source_scores = np.concatenate([offset[j] + 1.0 + 0.1 * rng.standard_normal(20) for j in range(3)])
    translation_scores = np.concatenate([offset[j] + 0.1 * rng.standard_normal(40) for j in range(3)])
    calibration = lineup.calibrate(source_scores, translation_scores, np.repeat(np.arange(3), 20),
                                   np.repeat(np.arange(3), 40), 3)
    for source in range(3):
        clips = offset + 0.1 * rng.standard_normal(3)
        clips[source] += 1.0
        assert lineup.pick(clips, calibration) == source
    assert int(np.argmax(offset + 0.5)) == 0  # what an uncalibrated picker would always say


def test_new_input_rows_pool_frames_and_take_flatness_as_a_factor():
    from music_translation import newinputs

    measures = [{"within_50_cents": 1.0, "both": 300, "voiced_ratio": 1.0, "median_cents": 5.0, "flatness": 0.004},
                {"within_50_cents": 0.0, "both": 100, "voiced_ratio": 0.5, "median_cents": 300.0, "flatness": 0.001}]
    clips = [{"source": "violin", "measures": m} for m in measures]
    row, = newinputs.rows_of(clips, 0.001, {"seed": 0})
    assert row["within_50_cents"] == 0.75 and row["voiced_ratio"] == 0.75 and row["seed"] == 0
    assert row["flatness_factor"] == 2.5  # median 0.0025 over the reference 0.001
    row, = newinputs.rows_of(clips, 0.01, {})
    assert row["flatness_factor"] == 4.0  # 4x cleaner than the reference is as far off as 4x noisier
