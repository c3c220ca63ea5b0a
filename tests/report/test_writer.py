"""The report writer on the toy paper: files, tables, claims, audio (16-bit, loudness-matched rows), the index."""

import json
import subprocess
import sys
import urllib.request

import numpy as np
import pytest
import scipy.stats
import soundfile as sf

from common.report import Clip, Example, Figure, Report, Section, Table, mean_ci, paired_diff, tost, write_report
from common.report.audio import loudness
from tests.report.conftest import REPO


def test_toy_report_files_and_tables(toy_reports):
    page = toy_reports / "tests.toy_task"
    for name in ("README.md", "index.html", "results.json", "residuals.png"):
        assert (page / name).is_file(), name
    readme = (page / "README.md").read_text()
    assert "| model | val MSE | low | high |" in readme
    assert "| least squares beats predicting zero | yes |" in readme
    assert "![squared errors of least squares](residuals.png)" in readme
    summary = json.loads((page / "results.json").read_text())
    assert summary["claims"][0]["holds"] is True
    assert summary["results"]["mse"] < 1e-3
    html = (page / "index.html").read_text()
    assert html.count("<audio controls") == 3 and "<table>" in html


def test_results_name_the_commit_they_were_computed_from(toy_reports):
    summary = json.loads((toy_reports / "tests.toy_task" / "results.json").read_text())
    if not (REPO / ".git").exists():
        assert summary["commit"] is None
        return
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    changed = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=REPO).returncode != 0
    assert summary["commit"] == head.stdout.strip() + ("+changes" if changed else "")


def test_commit_is_marked_when_tracked_files_changed(tmp_path):
    from common.report.writer import commit

    def git(*args):
        return subprocess.run(["git", "-c", "user.email=t@example.org", "-c", "user.name=t", *args], cwd=tmp_path,
                              check=True, capture_output=True, text=True).stdout.strip()

    git("init", "-q")
    (tmp_path / "f.txt").write_text("a")
    git("add", "f.txt")
    git("commit", "-qm", "first")
    head = git("rev-parse", "--short", "HEAD")
    assert commit(tmp_path) == head
    (tmp_path / "f.txt").write_text("b")
    assert commit(tmp_path) == head + "+changes"


def test_site_index_rows(toy_reports):
    index = (toy_reports / "README.md").read_text()
    assert "| [Toy task (tests)](tests.toy_task/README.md) | ok | val MSE, least squares:" in index
    assert "| 1 of 1 |" in index
    assert "| Universal music translation network (Mor et al., 2018) |" in index
    html = (toy_reports / "index.html").read_text()
    assert 'href="tests.toy_task/index.html"' in html


def test_examples_are_16_bit_and_loudness_matched_per_row(toy_reports):
    wavs = sorted((toy_reports / "tests.toy_task" / "examples").glob("*.wav"))
    assert [w.name for w in wavs] == ["00-a-quiet-and-a-loud-tone-input.wav", "00-a-quiet-and-a-loud-tone-output.wav",
                                      "01-short-clip-at-22-05-khz-target.wav"]
    for wav in wavs:
        assert sf.info(wav).subtype == "PCM_16"
        assert wav.with_suffix(".png").is_file()
    quiet, loud = (sf.read(w)[0] for w in wavs[:2])
    assert quiet.size == loud.size == 16000
    # the inputs differed by 20 dB; after normalisation the row plays at one loudness, below -1 dBFS
    assert abs(loudness(quiet, 16000) - loudness(loud, 16000)) < 0.1
    assert max(np.abs(quiet).max(), np.abs(loud).max()) <= 10 ** (-1 / 20) + 1e-4
    assert sf.info(wavs[2]).samplerate == 22050 and sf.info(wavs[2]).frames == 11025


def test_bad_report_data_is_named(tmp_path):
    with pytest.raises(ValueError, match="row 0 has 1 cells for 2 columns"):
        Table(["a", "b"], [[1]])
    report = Report("p", "P", sections=[Section("s", figures=[Figure("nope.png")])])
    with pytest.raises(FileNotFoundError, match="nope.png"):
        write_report(report, tmp_path / "p")
    bad = Report("p", "P", examples=[Example("x", [Clip("input", np.array([0.0, np.nan]), 8000)])])
    with pytest.raises(ValueError, match="'x', clip 'input'"):
        write_report(bad, tmp_path / "p")


def test_mean_ci_matches_scipy_percentile_bootstrap():
    x = np.random.default_rng(3).normal(1.0, 2.0, 60)
    mean, low, high = mean_ci(x)
    ref = scipy.stats.bootstrap((x,), np.mean, method="percentile", n_resamples=10_000, random_state=0)
    assert mean == pytest.approx(x.mean())
    assert low == pytest.approx(ref.confidence_interval.low, abs=0.05)
    assert high == pytest.approx(ref.confidence_interval.high, abs=0.05)


def test_paired_diff_decides_on_pairs_not_on_marginals():
    rng = np.random.default_rng(0)
    base = rng.normal(0, 10, 40)  # large spread between items hides a small consistent gain in the marginals
    better = base + 0.5 + rng.normal(0, 0.1, 40)
    mean, low, high, n = paired_diff(better, base)
    assert n == 40 and low > 0 and mean == pytest.approx(0.5, abs=0.05)
    assert mean_ci(better)[1] < mean_ci(base)[2]  # the marginal intervals overlap
    with pytest.raises(ValueError, match="paired item by item"):
        paired_diff([1, 2], [1, 2, 3])


def test_tost_matches_scipy_one_sided_t_tests():
    d = np.random.default_rng(1).normal(0.3, 1.0, 12)
    result = tost(d, margin=1.2)
    # H0 mean <= -m against mean > -m, and H0 mean >= +m against mean < +m: scipy's one-sample t-tests
    above = scipy.stats.ttest_1samp(d, -1.2, alternative="greater")
    below = scipy.stats.ttest_1samp(d, 1.2, alternative="less")
    assert result.p_above == pytest.approx(above.pvalue, rel=1e-9)
    assert result.p_below == pytest.approx(below.pvalue, rel=1e-9)
    assert result.p == pytest.approx(max(above.pvalue, below.pvalue))
    # the 90% interval's ends are the one-sided 95% bounds: inside (-m, m) exactly when TOST rejects at 5%
    ci = scipy.stats.ttest_1samp(d, 0.0).confidence_interval(0.90)
    assert (result.low, result.high) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert result.equivalent == (-1.2 < ci.low and ci.high < 1.2)
    assert tost(d, margin=1.2).equivalent and not tost(d, margin=0.5).equivalent


def test_tost_non_inferiority_side():
    lower_by_a_lot = np.array([-3.0, -3.2, -2.9])
    assert not tost(lower_by_a_lot, margin=1.0).above  # clearly below -m: "not lower by more than m" fails
    assert tost(lower_by_a_lot + 3.0, margin=1.0).above
    with pytest.raises(ValueError, match="needs at least 2"):
        tost([1.0], margin=1.0)


def test_serve_answers_on_localhost(toy_reports):
    proc = subprocess.Popen([sys.executable, "-m", "common.report", "serve", "--dir", str(toy_reports), "--port", "0"],
                            cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        url = line.split(" at ")[1].split(" ")[0]
        with urllib.request.urlopen(url + "tests.toy_task/index.html", timeout=10) as response:
            assert response.status == 200 and b"least squares" in response.read()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_without_reports_says_what_to_run(tmp_path):
    result = subprocess.run([sys.executable, "-m", "common.report", "serve", "--dir", str(tmp_path)], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 2 and "run `make eval-all`" in result.stderr
