"""The trained models a package's verbs use when no ``ckpt=`` is given: what each is, where it lives, which
verbs take it and what makes it. Each package's ``models`` verb prints them (:func:`print_models`), so a user
never has to find a checkpoint: ``make eval-<paper>`` trains them where the verbs look."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DefaultModel:
    """``path`` holds ``what``, taken by ``verbs`` by default; ``made_by`` makes it. ``ckpt=`` picks another on
    every verb; ``also`` names this package's other ways (another run, an exported decoder)."""

    what: str
    path: Path
    verbs: str
    made_by: str
    also: str = ""

    @property
    def present(self) -> bool:
        return Path(self.path).is_file()


def print_models(models: list[DefaultModel]) -> int:
    """One block per model; returns 0 when every model is present, 1 otherwise (the verb's exit code)."""
    for m in models:
        state = "present" if m.present else f"missing: `{m.made_by}` makes it"
        another = "ckpt=path/to/last.ckpt" + (f", or {m.also}" if m.also else "")
        print(f"{m.what}\n  path:  {m.path} ({state})\n  used by: {m.verbs}\n  another: {another}")
    return 0 if all(m.present for m in models) else 1
