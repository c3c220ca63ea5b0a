"""common.corpora builds: deterministic per seed, a killed or failing build never read as complete, skipped
conversions counted, missing tools and bad requests named in one line."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import common.corpora as corpora
from common.corpora import maps, render, scores, speech
from common.errors import InputError


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_files_and_another_seed_differs(built, tiny_root, tmp_path):
    for name in corpora.CORPORA:
        built(name)
        corpora.ensure_corpus(name, tmp_path / "again", size="tiny", seed=0)
        assert tree(tiny_root / name) == tree(tmp_path / "again" / name), f"{name} is not deterministic"
    other = corpora.ensure_corpus("mir1k", tmp_path / "seed1", size="tiny", seed=1)
    assert tree(other) != tree(built("mir1k"))


def test_killed_build_is_never_read_as_complete_and_is_rebuilt(built, tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "common.corpora", "build", "--root", str(tmp_path), "--only", "maps", "--size", "30"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".maps.partial-*/**/*.wav")):
        assert process.poll() is None and time.monotonic() < deadline, "the build should still be running"
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not (tmp_path / "maps").exists() and corpora.corpus_status("maps", tmp_path) is None
    rebuilt = corpora.ensure_corpus("maps", tmp_path, size="tiny")
    assert not list(tmp_path.glob(".maps.partial-*")), "the killed build's leftovers are removed"
    assert tree(rebuilt.parent) == tree(built("maps").parent)

    (rebuilt.parent / "manifest.json").unlink()  # a directory without manifest is incomplete
    (rebuilt / "ENSTDkCl" / "MUS" / "junk.wav").write_bytes(b"")
    corpora.ensure_corpus("maps", tmp_path, size="tiny")
    assert tree(rebuilt.parent) == tree(built("maps").parent)


def test_failing_build_leaves_nothing_and_size_or_seed_change_rebuilds(monkeypatch, tmp_path):
    def broken(*args, **kwargs):
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(maps, "render_midi", broken)
    with pytest.raises(RuntimeError, match="renderer crashed"):
        corpora.ensure_corpus("maps", tmp_path, size=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".maps.lock"]
    monkeypatch.undo()
    corpora.ensure_corpus("maps", tmp_path, size=1, seed=3)
    corpora.ensure_corpus("maps", tmp_path, size=2, seed=4)
    manifest = corpora.corpus_status("maps", tmp_path)
    assert (manifest["size"], manifest["seed"], manifest["files"]) == (2, 4, 2 * len(maps.PIANOS))


def test_failed_conversion_and_silent_rendering_are_skipped_with_counts(monkeypatch, tmp_path, caplog):
    real_load, real_render, calls = scores.load_work, maps.render_midi, {"load": 0, "render": 0}

    def first_work_missing(work, *args, **kwargs):
        calls["load"] += 1
        return real_load("bach/no-such-work" if calls["load"] == 1 else work, *args, **kwargs)

    def first_rendering_silent(*args, **kwargs):
        calls["render"] += 1
        return real_render(*args, **kwargs) * (calls["render"] > 1)

    monkeypatch.setattr(scores, "load_work", first_work_missing)
    monkeypatch.setattr(maps, "render_midi", first_rendering_silent)
    corpora.ensure_corpus("maps", tmp_path, size=2)
    skipped = corpora.corpus_status("maps", tmp_path)["skipped"]
    assert skipped["music21 work failed to convert"]["count"] == 1
    assert "bach/no-such-work" in skipped["music21 work failed to convert"]["examples"][0]
    assert skipped["silent rendering"]["count"] == 1
    assert len(list((tmp_path / "maps").rglob("*.wav"))) == 2 * len(maps.PIANOS)
    assert "skipped 1 item(s): silent rendering" in caplog.text


def test_missing_voice_soundfont_or_bad_request_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(speech, "VOICE_DIRS", (tmp_path / "no-voices",))
    with pytest.raises(InputError, match=r"mbrola-us1.*scripts/install_system\.sh"):
        corpora.ensure_corpus("nus48e", tmp_path, size="tiny")
    assert not (tmp_path / "nus48e").exists()
    monkeypatch.setattr(render, "default_soundfont", lambda: tmp_path / "missing.sf2")
    with pytest.raises(InputError, match=r"missing\.sf2.*pretty_midi"):
        corpora.ensure_corpus("sol", tmp_path, size="tiny")
    with pytest.raises(InputError, match="unknown corpus"):
        corpora.ensure_corpus("timit", tmp_path)
    with pytest.raises(InputError, match="positive integer"):
        corpora.ensure_corpus("maps", tmp_path, size="huge")
    result = subprocess.run([sys.executable, "-m", "common.corpora", "build", "--only", "maps,timit", "--root",
                             str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.strip().splitlines()[-1].startswith("error: unknown corpus")
