"""pYIN benchmark: common.pyin vs librosa.pyin on the inputs the reports score (a 1.5 s instrument note, a 5 s
melody, a 4 s spoken sentence), at the project's settings (64 ms frames, 10 ms hop, 0.2-semitone states) and at
librosa's default resolution (0.1). Best of 5 alternating runs in one process, one thread; the contours are
checked equal first. The ratio line comes last.

    .venv/bin/python bench/pyin.py
"""

from functools import partial

import librosa
import numpy as np
from timing import best_of, load_average, threads

from common import heldout
from common.pyin import pyin

RATE = 16000


def inputs() -> dict[str, np.ndarray]:
    note = heldout.additive(heldout.Melody(((0.0, 1.2, 60.0),)), RATE)
    melody = heldout.additive(heldout.random_melody(0, 55, 79), RATE)
    speech = heldout.speak(heldout.SENTENCES[1], heldout.FEMALE_VOICES[0], RATE)
    return {"note 1.5 s": note, f"melody {len(melody) / RATE:.1f} s": melody,
            f"speech {len(speech) / RATE:.1f} s": speech}


def main() -> None:
    print(f"{load_average()} at start\n")
    print("| input | resolution | ours (ms) | librosa (ms) | ours / librosa | same contour |")
    print("|---|---|---|---|---|---|")
    ratios = []
    for name, audio in inputs().items():
        for resolution in (0.2, 0.1):
            ours = partial(pyin, audio, 50.0, 1600.0, RATE, 2048, 160, resolution)
            ref = partial(librosa.pyin, audio, fmin=50.0, fmax=1600.0, sr=RATE, frame_length=2048, hop_length=160,
                          resolution=resolution)
            (f0, voiced), (ref_f0, ref_voiced, _) = ours(), ref()
            same = np.array_equal(voiced, ref_voiced) and np.array_equal(f0, ref_f0, equal_nan=True)
            with threads(1):
                best = best_of({"ours": ours, "librosa": ref}, 5)
            ratios.append(best["ours"] / best["librosa"])
            print(f"| {name} | {resolution} | {1000 * best['ours']:.1f} | {1000 * best['librosa']:.1f} "
                  f"| {ratios[-1]:.3f} | {same} |")
    print(f"\n{load_average()} at the end")
    print(f"ratio ours / librosa, pYIN, geometric mean over the {len(ratios)} rows, best of 5, 1 thread: "
          f"{float(np.exp(np.mean(np.log(ratios)))):.3f}")


if __name__ == "__main__":
    main()
