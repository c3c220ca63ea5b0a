"""The hand-written mutants (``tools/mutants/*.yaml``) stay applicable: each one's text occurs exactly once in its
file and each test it names exists, so `python -m tools.mutate` never finds a mutant the code has moved past."""

import pytest

from tools import mutate

PACKAGES = mutate.packages()


def test_every_package_has_mutants():
    assert set(PACKAGES) == {"common", "da_vae", "gmvae_timbre", "music_translation", "realtime_ae", "speech2sing"}


@pytest.mark.parametrize("package", PACKAGES)
def test_mutants_apply_once_and_name_real_tests(package):
    mutants = mutate.load(package)
    assert mutants
    ids = [m.id for m in mutants]
    assert len(ids) == len(set(ids)), f"repeated mutant ids in {package}.toml"
    for m in mutants:
        assert m.old != m.new, m.id
        assert mutate.occurrences(m) == 1, f"{package}/{m.id}: its text is not exactly once in {m.file}"
        missing = [t for t in m.tests if not (mutate.ROOT / t.split("::")[0]).exists()]
        assert not missing, f"{package}/{m.id} names missing tests {missing}"


def test_a_malformed_table_is_a_one_line_error(tmp_path, monkeypatch):
    (tmp_path / "broken.yaml").write_text("- id: x\n  file: common/pitch.py\n")
    monkeypatch.setattr(mutate, "MUTANTS", tmp_path)
    with pytest.raises(SystemExit, match=r"broken.yaml: not a list of mutants with id, file, old, new, what"):
        mutate.load("broken")
