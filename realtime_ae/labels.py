"""How often the one-hot chroma labels name the note actually played, on the synthetic corpora whose notes are
known: the scale clips (the note sounding at each frame's centre, frames whose whole window lies inside one
note) and the violin's single notes (the note named in the file name). Beside the package's labels (harmonic-sum
salience, :func:`realtime_ae.features.chroma_class`): the paper's 88-band STFT chromagram argmax on the same
frames, and librosa's CQT chromagram on the test clips."""

from __future__ import annotations

import numpy as np
import pretty_midi
import torch

from common.audio import load_audio
from common.corpora.scales import scheduled_pitch
from common.report import Section, Table
from realtime_ae import features
from realtime_ae.data import PreparedCorpus


def band_chroma_class(frames: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """The paper's chroma: each STFT bin to its nearest semitone in A0-C8, power summed per band and per pitch
    class, argmax (N,) (C = 0). Below about C3 a band holds one bin or none at 4096 points."""
    n_fft = 2 * (frames.shape[-1] - 1)
    freqs = np.arange(frames.shape[-1]) * sample_rate / n_fft
    with np.errstate(divide="ignore"):
        pitch = np.round(69 + 12 * np.log2(np.maximum(freqs, 1e-9) / 440.0))
    inside = (pitch >= features.LOWEST_PITCH) & (pitch <= features.HIGHEST_PITCH)
    fold = torch.from_numpy(((pitch[None, :] % 12 == np.arange(12)[:, None]) & inside).astype(np.float32))
    return (frames.float().square() @ fold.T).argmax(-1)


def truth(corpus: PreparedCorpus, name: str, clip: dict) -> tuple[np.ndarray, np.ndarray]:
    """(MIDI pitch played, frame counts) per row of ``clip``, and which rows are scored."""
    ix = corpus.index
    numbers = np.asarray(corpus.numbers[clip["start"]: clip["start"] + clip["frames"]], np.float64)
    if name == "violin":
        stem = clip["name"].split("/")[-1]
        if not stem.startswith("note-"):
            return np.zeros(len(numbers), int), np.zeros(len(numbers), bool)
        pitch = pretty_midi.note_name_to_number(stem.split("-")[1])
        return np.full(len(numbers), pitch), numbers * ix["hop_length"] / ix["sample_rate"] < 1.0
    half_window = ix["n_fft"] / 2 / ix["sample_rate"]
    return scheduled_pitch(name, numbers * ix["hop_length"] / ix["sample_rate"], margin=half_window)


def accuracy(corpus: PreparedCorpus, name: str, cqt_clips: int = 5) -> dict:
    """Label accuracy over every clip of a known-note corpus, per octave, and on the first ``cqt_clips`` test
    clips that of the three chroma methods."""
    ix, pitches, ours, bands = corpus.index, [], [], []
    for clip in corpus.clips:
        pitch, keep = truth(corpus, name, clip)
        rows = np.arange(clip["start"], clip["start"] + clip["frames"])[keep]
        pitches.append(pitch[keep])
        ours.append(np.asarray(corpus.chroma[rows], int))
        bands.append(band_chroma_class(torch.from_numpy(np.array(corpus.frames[rows])), ix["sample_rate"]).numpy())
    pitch, ours, bands = (np.concatenate(x) for x in (pitches, ours, bands))
    out = {"frames": int(len(pitch)), "ours": float((ours == pitch % 12).mean()),
           "stft_bands": float((bands == pitch % 12).mean()),
           "by_octave": {int(o): float((ours == pitch % 12)[pitch // 12 - 1 == o].mean())
                         for o in np.unique(pitch // 12 - 1)},
           "stft_bands_by_octave": {int(o): float((bands == pitch % 12)[pitch // 12 - 1 == o].mean())
                                    for o in np.unique(pitch // 12 - 1)}}
    out.update(cqt_comparison(corpus, name, cqt_clips))
    return out


def cqt_comparison(corpus: PreparedCorpus, name: str, clips: int) -> dict:
    """Accuracy of the package's labels and of librosa's CQT chroma on the same frames of a few test clips."""
    import librosa

    ix, hits_ours, hits_cqt = corpus.index, [], []
    for clip in [c for c in corpus.clips if c["split"] == "test"][:clips]:
        pitch, keep = truth(corpus, name, clip)
        if not keep.any():
            continue
        audio = load_audio(f"{ix['corpus']}/{clip['name']}", ix["sample_rate"])
        cqt = librosa.feature.chroma_cqt(y=audio, sr=ix["sample_rate"], hop_length=ix["hop_length"]).argmax(0)
        numbers = np.asarray(corpus.numbers[clip["start"]: clip["start"] + clip["frames"]], int)
        inside = keep & (numbers < len(cqt))
        hits_cqt.append(cqt[numbers[inside]] == pitch[inside] % 12)
        hits_ours.append(np.asarray(corpus.chroma[clip["start"]: clip["start"] + clip["frames"]], int)[inside]
                         == pitch[inside] % 12)
    if not hits_cqt:
        return {"test_frames": 0, "test_ours": None, "test_cqt": None}
    return {"test_frames": int(sum(len(h) for h in hits_cqt)), "test_ours": float(np.concatenate(hits_ours).mean()),
            "test_cqt": float(np.concatenate(hits_cqt).mean())}


def section(results: dict[str, dict]) -> Section:
    rows = [[name, r["frames"], r["ours"], r["stft_bands"], r["test_frames"], r["test_ours"], r["test_cqt"]]
            for name, r in results.items()]
    octaves = sorted({o for r in results.values() for o in r["by_octave"]})
    by_octave = [[name, method, *[r[key].get(o) for o in octaves]] for name, r in results.items()
                 for method, key in (("ours", "by_octave"), ("paper's STFT bands", "stft_bands_by_octave"))]
    return Section("Chroma labels", "Fraction of frames whose one-hot chroma names the note played (scale clips: "
                   "frames wholly inside one note; violin: its single-note clips). Ours is the pitch class of the "
                   "harmonic-sum salience peak over A0-C8; the paper's is the argmax of an 88-band chromagram of the "
                   "STFT bins; librosa's CQT chroma is computed on the test clips' audio.", tables=[
                       Table(["corpus", "frames", "ours", "paper's STFT bands", "test frames", "ours (test)",
                              "librosa CQT (test)"], rows, caption="label accuracy", digits=3),
                       Table(["corpus", "labels", *[f"octave {o}" for o in octaves]], by_octave,
                             caption="label accuracy by the octave of the note played", digits=3)])
