"""Music-translation domains: music21 works rendered as six instrumental domains for training and two
unseen domains for testing, 16 kHz 16-bit mono::

    <domain>/{train,val,test}/<work>.wav     piano, harpsichord, organ, string_quartet, choir, brass
    <domain>/test/<work>.wav                 unseen: whistle, flute (the melody only)

Every file is a different Bach chorale (at most 30 s), so splits are separated by work, as the paper's
are by track. ``size`` = works per training domain: 1 test, 1 val, the rest train (size >= 3);
unseen domains get ``max(1, size // 4)`` test works.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from common.audio import save_audio
from common.corpora import scores
from common.corpora.manifest import Skips
from common.corpora.render import default_soundfont, render_midi
from common.errors import InputError

VERSION = 1
SIZES = {"tiny": 3, "default": 8}
SIZE_MEANS = "works per training domain (1 test, 1 val, rest train)"
SAMPLE_RATE = 16000
MAX_SECONDS = 30.0
# domain -> GM programs per part (soprano, alto, tenor, bass), and how many parts are played
DOMAINS = {
    "piano": ([0], None), "harpsichord": ([6], None), "organ": ([19], None),
    "string_quartet": ([40, 40, 41, 42], None), "choir": ([52], None), "brass": ([56, 60, 57, 58], None),
}
UNSEEN_DOMAINS = {"whistle": ([78], 1), "flute": ([73], 1)}


def splits_for(domain: str, size: int) -> list[str]:
    """The split of each work of ``domain``, in order."""
    if domain in UNSEEN_DOMAINS:
        return ["test"] * max(1, size // 4)
    return ["test", "val"] + ["train"] * (size - 2)


def build(out: Path, size: int, seed: int) -> dict:
    if size < 3:
        raise InputError("domains size must be >= 3 (one test, one val and one train work per domain)")
    rng = np.random.default_rng(seed)
    works = list(scores.chorale_names())
    rng.shuffle(works)
    plan = [(domain, split) for domain in [*DOMAINS, *UNSEEN_DOMAINS] for split in splits_for(domain, size)]
    skips, items = Skips(), []
    progress = tqdm(total=len(plan), desc="domains", unit="work", leave=False)
    for domain, split in plan:
        programs, n_parts = {**DOMAINS, **UNSEEN_DOMAINS}[domain]
        while True:
            if not works:
                raise InputError("domains: ran out of music21 chorales; use a smaller size (see skipped counts)")
            work, bpm = works.pop(), float(rng.integers(60, 121))
            try:
                audio = render_midi(scores.load_work(work, programs, bpm, MAX_SECONDS, n_parts), SAMPLE_RATE)
            except scores.ScoreError as err:
                skips.add("music21 work failed to convert", str(err))
                continue
            if np.abs(audio).max() < 1e-4:
                skips.add("silent rendering", f"{domain}/{work}")
                continue
            break
        name = work.replace("/", "-").replace(".", "-")
        save_audio(out / domain / split / f"{name}.wav", audio * (0.8 / np.abs(audio).max()), SAMPLE_RATE,
                   "PCM_16")
        items.append({"domain": domain, "split": split, "file": f"{name}.wav", "work": work, "bpm": bpm,
                      "gm_programs": programs, "parts": n_parts or "all"})
        progress.update()
    progress.close()
    return {
        "stands_in_for": "the six classical domains of Mor et al. 2018 (+ unseen domains for testing)",
        "sample_rate": SAMPLE_RATE, "channels": "mono",
        "how": "music21 Bach chorales, one instrument per part, rendered with tinysoundfont; peak-normalised",
        "soundfont": default_soundfont().name,
        "domains": {d: {"gm_programs": p, "unseen": d in UNSEEN_DOMAINS}
                    for d, (p, _) in {**DOMAINS, **UNSEEN_DOMAINS}.items()},
        "skipped": skips.report("domains"), "items": items,
    }
