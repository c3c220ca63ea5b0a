"""Bad data a new user meets (truncated or misplaced audio, damaged corpora, unpaired or short files of a real
dataset): used with a warning naming the file, or rebuilt, never silently dropped."""

import logging

import numpy as np
import pytest

from common.audio import load_audio, save_audio
from common.corpora import ensure_corpus
from common.lightning.config import load_config

# -- no silent wrong output ------------------------------------------------------------------------------------

def test_truncated_wav_is_used_with_a_warning_naming_it(tmp_path, caplog):
    path = tmp_path / "cut.wav"
    save_audio(path, np.full(16000, 0.1, np.float32), 16000, subtype="PCM_16")
    path.write_bytes(path.read_bytes()[:16000])  # the header still promises 16000 frames
    with caplog.at_level(logging.WARNING):
        audio = load_audio(path, 16000)
    assert 0 < len(audio) < 16000
    assert f"{path}: truncated: its header promises 16000 frames but the file holds {len(audio)}" in caplog.text
    caplog.clear()
    save_audio(path, np.full(16000, 0.1, np.float32), 16000, subtype="PCM_16")
    load_audio(path, 16000)
    assert "truncated" not in caplog.text


def test_a_directory_where_a_file_belongs_is_named_as_a_directory(tmp_path):
    with pytest.raises(ValueError, match=f"{tmp_path}: is a directory, not an audio file"):
        load_audio(tmp_path, 16000)


def test_a_file_deleted_from_a_built_corpus_is_named_and_the_corpus_rebuilt(tmp_path, caplog):
    root = ensure_corpus("maps", tmp_path, size="tiny")
    wavs = sorted(root.rglob("*.wav"))
    victim = wavs[len(wavs) // 2]
    victim.unlink()
    with caplog.at_level(logging.WARNING):
        assert ensure_corpus("maps", tmp_path, size="tiny") == root
    assert "1 file(s) its manifest lists are missing" in caplog.text and victim.name in caplog.text
    assert victim.is_file() and sorted(root.rglob("*.wav")) == wavs


@pytest.mark.parametrize("damage", ["deleted MIDI", "zero-byte WAV"])
def test_a_damaged_file_of_a_built_maps_is_named_and_the_corpus_rebuilt(tmp_path, caplog, damage):
    """A MIDI file deleted from a built MAPS stand-in, or a WAV emptied to zero bytes, is named in one warning with
    the count, and the corpus is rebuilt whole (every piece back), instead of training on what is left."""
    root = ensure_corpus("maps", tmp_path, size="tiny")
    files = sorted(root.rglob("*.mid" if damage == "deleted MIDI" else "*.wav"))
    victim, before = files[len(files) // 2], sorted(p.name for p in root.rglob("*"))
    victim.unlink() if damage == "deleted MIDI" else victim.write_bytes(b"")
    with caplog.at_level(logging.WARNING):
        assert ensure_corpus("maps", tmp_path, size="tiny") == root
    [line] = [r.getMessage() for r in caplog.records if "manifest lists" in r.getMessage()]
    assert "1 file(s) its manifest lists are missing or empty" in line and victim.name in line
    assert victim.stat().st_size > 0 and sorted(p.name for p in root.rglob("*")) == before


def test_corpus_list_names_a_half_made_corpus_and_how_to_rebuild_it(tmp_path, capsys):
    from common.corpora.__main__ import main as corpora_main

    (tmp_path / ".maps.partial-4242" / "MAPS").mkdir(parents=True)  # a build killed before its rename
    (tmp_path / "mir1k" / "MIR-1K").mkdir(parents=True)  # a folder without its manifest
    assert corpora_main(["list", "--root", str(tmp_path)]) == 0
    rows = {line.split("|")[1].strip(): line for line in capsys.readouterr().out.splitlines()[2:]}
    rebuild = "`python -m common.corpora build --root {} --only {}` rebuilds it"
    for name in ("maps", "mir1k"):
        assert "incomplete (a killed or failed build; " + rebuild.format(tmp_path, name) in rows[name], rows[name]
    assert "| missing |" in rows["nsynth"]


def test_unpaired_files_of_a_real_dataset_are_counted_and_named(tmp_path, caplog):
    """NUS-48E with a sung song lacking its reading and a reading lacking its song: both skipped with a warning
    naming them; the complete pair is used."""
    from speech2sing.catalog import recordings

    singer = tmp_path / "nus-smc-corpus_48" / "ADIZ"
    for kind, song in [("read", "01"), ("sing", "01"), ("sing", "02"), ("read", "03")]:
        for ext in ("wav", "txt"):
            (singer / kind).mkdir(parents=True, exist_ok=True)
            (singer / kind / f"{song}.{ext}").write_text("")
    with caplog.at_level(logging.WARNING):
        found = recordings(tmp_path)
    assert [(r.singer, r.song) for r in found] == [("ADIZ", "01")]
    assert "lacks read/02.wav" in caplog.text and "ADIZ/sing/02.wav" in caplog.text
    assert "lacks sing/03.wav" in caplog.text and "ADIZ/read/03.wav" in caplog.text


def test_files_too_short_for_a_segment_are_counted_and_named(tmp_path, caplog):
    from music_translation import data
    from music_translation.config import MusicTranslationConfig

    cfg = load_config(MusicTranslationConfig, "music_translation", "default",
                      [f"data.root={tmp_path}/in", f"data.cache={tmp_path}/cache", "data.corpus=none",
                       "data.sample_rate=8000", "model.pool=400", "data.segment_seconds=0.5"])
    save_audio(tmp_path / "in/organ/long.wav", np.full(16000, 0.5, np.float32), 16000)
    save_audio(tmp_path / "in/organ/short.wav", np.full(3000, 0.1, np.float32), 16000)
    with caplog.at_level(logging.WARNING):
        data.prepare_domain(cfg, "organ")
    assert "skipped 1 file(s) shorter than" in caplog.text and "short.wav" in caplog.text
