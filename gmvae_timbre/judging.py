"""How far the judges can be trusted, per run (seed, threads): the instrument and pitch CNNs (trained with every
label, one pair per seed: :func:`judge_run`) on the held-out real notes of the corpus (the validation split) and
on the held-out soundfont notes, pYIN on those notes, how long their training ran, and the reconstruction
ceiling: the same judges on the default model's own reconstructions of the validation notes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from common.report import Section, Table
from gmvae_timbre import data, newinputs, training
from gmvae_timbre.module import NoteClassifier, TimbrePitchModule


def judge_run(run: tuple[int, int], threads: list[int]) -> tuple[int, int]:
    """The run ``(seed, threads)`` whose CNNs judge the default model of ``run``: the same seed under the first
    thread setting of ``threads`` (``eval.threads``). The judges are the measuring instrument, so every thread
    setting of a seed is measured by the same one: a difference between them is the default model's own."""
    return run[0], threads[0]


def training_steps(checkpoint: str | Path) -> str:
    """How a judge's training ended, from its run's ``last.ckpt``: ``"<step of the checkpoint used> of <steps>
    (converged)"`` when its validation loss stopped falling before the step cap, else ``"... (cap)"``."""
    used, _ = training.stopped_at(Path(checkpoint))
    steps, stopped = training.stopped_at(Path(checkpoint).parent / "last.ckpt")
    return f"{used} of {steps} ({'converged' if stopped else 'cap'})"


@torch.no_grad()
def accuracy(judge: NoteClassifier, x: np.ndarray | torch.Tensor, labels: np.ndarray) -> float:
    return float((judge(torch.as_tensor(x)).argmax(-1).numpy() == labels).mean())


@torch.no_grad()
def reconstructions(module: TimbrePitchModule, x: np.ndarray) -> torch.Tensor:
    """Decoded posterior means of scaled log mels ``(n, F, T)`` -> ``(n, F, T)``."""
    posterior = module.model.encode(torch.from_numpy(x))
    return module.model.decode(posterior["mu_t"], posterior["mu_p"])


def run_row(module: TimbrePitchModule, instrument_judge: NoteClassifier, pitch_judge: NoteClassifier,
            notes: data.SolNotes, heldout: tuple, paths: tuple[str, str], n_iter: int) -> dict:
    """The judges of one run on real notes, held-out notes and the default model's reconstructions."""
    val = notes.val
    x, instrument, pitch = notes.x[val], notes.instrument[val], notes.pitch[val]
    names, midis, audio = heldout
    held = newinputs.score_audio(audio, names, midis, instrument_judge, module)
    rebuilt = reconstructions(module, x)
    rebuilt_audio = module.render(rebuilt, n_iter)
    midi = np.array(notes.pitches)[pitch]
    rebuilt_pitch = newinputs.score_audio(rebuilt_audio, [notes.instruments[k] for k in instrument], midi.tolist(),
                                          instrument_judge, module)
    classes = module.hparams.instruments
    return {
        "instrument judge, real notes": accuracy(instrument_judge, x, instrument),
        "pitch judge, real notes": accuracy(pitch_judge, x, pitch),
        "instrument judge, held-out notes": float(np.mean([classes[k] == n for k, n in
                                                           zip(held.probabilities.argmax(-1), names)])),
        "pYIN, held-out notes": float(held.hits.mean()),
        "instrument judge, reconstructions": float((rebuilt_pitch.probabilities.argmax(-1) == instrument).mean()),
        "pitch judge, reconstructions": accuracy(pitch_judge, rebuilt, pitch),
        "pYIN, reconstructions": float(rebuilt_pitch.hits.mean()),
        "instrument judge steps": training_steps(paths[0]),
        "pitch judge steps": training_steps(paths[1]),
    }


def section(rows: dict, n_val: int, n_heldout: int) -> Section:
    """``rows[(seed, threads)]`` of :func:`run_row` as the report's judges-and-ceiling section."""
    keys = list(next(iter(rows.values())))
    table = Table(["seed", "threads", *keys], [[s, t, *(r[k] for k in keys)] for (s, t), r in rows.items()],
                  caption="Judges and the reconstruction ceiling, per run", digits=3)
    return Section("Judges and the reconstruction ceiling", (
        f"The judges are the CNN baselines trained with every label (the instrument CNN and the pitch CNN of "
        f"each seed, trained under the first thread setting; they judge that seed's default model under every "
        f"thread setting, so a difference between a seed's rows is the default model's). Accuracy on the {n_val} "
        f"validation notes of the corpus (real notes no model trained on), on "
        f"{n_heldout} held-out single notes (FluidSynth + MuseScore General, the On new inputs notes; judged on "
        "their audio analysed again) and on the default model's reconstructions of the validation notes "
        "(decoded posterior means, rendered to audio and analysed again for the instrument judge and pYIN; the "
        "pitch judge reads the decoded mels). The reconstruction rows are the ceiling of synthesis and transfer: "
        "a model cannot make notes its judges accept more often than they accept its own reconstructions. "
        "Each judge trains until its validation loss stops falling (eval.cnn_patience checks of every "
        "eval.cnn_val_every steps without a new low); its steps say whether that happened before the cap "
        "(eval.cnn_max_steps), and the judge is its checkpoint of the lowest validation loss. The validation notes "
        "that decide the stop and the checkpoint are the real notes scored here."),
        tables=[table])
