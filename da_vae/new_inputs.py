"""The report's "On new inputs" section: `align` with the default Task 1 model (every seed, trained under each
thread setting of ``eval.new_inputs_threads``) on piano pieces no corpus holds, played by a soundfont no corpus
uses.

A piece is three random-walk voices (``common.heldout.random_melody``: soprano, alto and bass ranges of the
chorales the MAPS stand-in plays) from a fixed seed of ``eval.new_inputs_pieces``. Its performance moves every
note through a random piecewise-linear tempo map (one tempo factor in ``eval.nonlinear_rate_range`` per 2 s of
score) and is rendered by FluidSynth with MuseScore General's piano (``common.heldout.render_soundfont_many``). The
score MIDI, read on its frames up to the end of the audio's release tail, is aligned to the performance audio as
``python -m da_vae align`` does (which reads it up to its last event), and scored against the tempo
map: e along the true path (frames), and the re-timed MIDI's note onsets against the performed ones. Chroma and
Spec alignments of the same pair are given beside them, for reference.
"""

from __future__ import annotations

import logging

import numpy as np
import pretty_midi
from omegaconf import DictConfig, OmegaConf

from common.align import path_error
from common.heldout import TAIL_SECONDS, Melody, random_melody, render_soundfont_many
from common.parallel import map_by_threads, worker_pool
from common.report.targets import Target, new_inputs_section
from common.threads import intra_op_threads
from da_vae import features, inference, training

log = logging.getLogger(__name__)

VOICES = ((60, 79, 12, (0.3, 0.8)), (53, 69, 8, (0.5, 1.2)), (40, 57, 6, (0.7, 1.6)))  # low, high, notes, seconds
PROGRAM = 0  # GM acoustic grand piano
CONTROL_SECONDS = 2.0  # one tempo factor per this much score time
TARGETS = [Target("e", "<=", 2.0, "alignment error e along the true path, frames of 20 ms"),
           Target("onset_ms", "<=", 50.0, "median distance of the re-timed note onsets to the performed ones, ms")]


def piece(seed: int) -> Melody:
    """Three voices drawn from ``seed`` (notes ordered by offset, so ``seconds`` is the last note's end)."""
    notes = [note for k, (low, high, n, seconds) in enumerate(VOICES)
             for note in random_melody(seed * 10 + k, low, high, n_notes=n, note_seconds=seconds).notes]
    return Melody(tuple(sorted(notes, key=lambda n: (n[1], n[0]))))


def tempo_map(seconds: float, rate_range: tuple[float, float], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Knots (score s, performance s) of a piecewise-linear map: each ``CONTROL_SECONDS`` of score lasts 1 / rate
    as long, rate uniform in ``rate_range``; slope 1 after the score's end (the release tail)."""
    rng = np.random.default_rng(seed)
    score = np.append(np.arange(0.0, seconds, CONTROL_SECONDS), seconds)
    rates = rng.uniform(*rate_range, size=len(score) - 1)
    performance = np.concatenate([[0.0], np.cumsum(np.diff(score) / rates)])
    return np.append(score, seconds + 100.0), np.append(performance, performance[-1] + 100.0)


def perform(melody: Melody, knots: tuple[np.ndarray, np.ndarray]) -> Melody:
    return Melody(tuple((float(np.interp(a, *knots)), float(np.interp(b, *knots)), p) for a, b, p in melody.notes))


def cases(seeds: list[int], sample_rate: int, hop_s: float, rate_range: tuple[float, float]) -> list[dict]:
    """The pieces of ``seeds`` (their performances rendered by one FluidSynth call): see :func:`case`."""
    scores = [piece(seed) for seed in seeds]
    knots = [tempo_map(score.seconds, rate_range, seed) for seed, score in zip(seeds, scores, strict=True)]
    performances = [perform(score, k) for score, k in zip(scores, knots, strict=True)]
    audio = render_soundfont_many([(p, PROGRAM) for p in performances], sample_rate)
    return [case(*args, sample_rate, hop_s) for args in zip(seeds, scores, knots, performances, audio, strict=True)]


def case(seed: int, score: Melody, knots: tuple[np.ndarray, np.ndarray], performance: Melody, audio: np.ndarray,
         sample_rate: int, hop_s: float) -> dict:
    """One piece: its score MIDI, performance audio, performed onsets and the true path (score frame, audio
    frame) over the score's frames, release tail included."""
    n = int((score.seconds + TAIL_SECONDS) / hop_s)  # the score's frames, release tail included (e on matched ends)
    frames = np.arange(n)
    truth = np.stack([frames, np.round(np.interp(frames * hop_s, *knots) / hop_s)], axis=1)
    truth[:, 1] = np.minimum(truth[:, 1], features.frame_count(len(audio), round(hop_s * sample_rate)) - 1)
    return {"seed": seed, "midi": score.to_midi(PROGRAM), "audio": audio, "n": n, "truth": truth,
            "onsets": np.array(sorted(a for a, _, _ in performance.notes))}


def onsets(midi: pretty_midi.PrettyMIDI) -> np.ndarray:
    return np.array(sorted(note.start for inst in midi.instruments for note in inst.notes))


def score_alignment(path: np.ndarray, item: dict, hop_s: float) -> dict:
    """e (frames) of ``path`` (score frame, audio frame) and the re-timed onsets' errors against the performed."""
    error = np.abs(onsets(inference.retime_midi(item["midi"], path, hop_s)) - item["onsets"])
    return {"e": path_error(path, item["truth"]), "onset_ms": float(np.median(error) * 1000),
            "onsets_50ms": float(np.mean(error <= 0.05))}


def baselines(item: dict, d: DictConfig) -> dict:
    hop = features.hop_length(d.sample_rate, d.hop_ms)
    hop_s, n, midi, audio = hop / d.sample_rate, item["n"], item["midi"], item["audio"]
    chroma = inference.dtw_path(features.midi_chroma(midi, n, hop_s),
                                features.audio_chroma(audio, d.sample_rate, d.n_fft, hop))
    spec = inference.dtw_path(features.piano_roll(midi, n, hop_s),
                              features.log_mel(features.zscore(audio), d.sample_rate, d.n_fft, hop, d.midi_mels))
    return {"e_chroma": path_error(chroma, item["truth"]), "e_spec": path_error(spec, item["truth"])}


def thread_checkpoint(cfg: DictConfig, seed: int, threads: int) -> str:
    """The Task 1 stage-2 model of ``seed`` trained with torch on ``threads`` threads, trained (or resumed) here
    if unfinished: threads 1 is the eval's own run (its workers train on one thread), another count is run
    ``<run.name>-threads<k>``."""
    run_cfg = cfg.copy()
    run_cfg.task.name, run_cfg.run.seed, run_cfg.ckpt_path, run_cfg.task.source_ckpt = "midi", seed, "last", None
    run_cfg.threads = threads  # the run's config.yaml records the thread count it trained on
    if threads != 1:
        run_cfg.run.name = f"{cfg.run.name}-threads{threads}"
    with intra_op_threads(threads):
        for stage in ("source", "target"):
            training.train_stage(run_cfg, stage)
    return str(training.last_checkpoint(run_cfg, "target"))


def _thread_checkpoint_job(container: dict, seed: int, threads: int) -> str:
    """:func:`thread_checkpoint` of a config passed as a plain container (a worker's job)."""
    return thread_checkpoint(OmegaConf.create(container), seed, threads)


def thread_checkpoints(cfg: DictConfig) -> dict[tuple[int, int], str]:
    """:func:`thread_checkpoint` of every (seed, threads): those of one thread in ``eval.workers`` processes, then
    those of more side by side (``common.parallel.map_by_threads``)."""
    runs = [(seed, threads) for threads in cfg.eval.new_inputs_threads for seed in cfg.eval.seeds]
    container = OmegaConf.to_container(cfg, resolve=True)
    with worker_pool(cfg.eval.workers, cfg.log_level) as run:
        paths = map_by_threads(run, _thread_checkpoint_job, [(container, *r) for r in runs], [t for _, t in runs],
                               cfg.eval.workers, cfg.log_level)
    return dict(zip(runs, paths))


def measure(cfg: DictConfig) -> dict:
    """Rows per (seed, threads, piece): Proposed's e, median onset error (ms) and share of onsets within 50 ms,
    with Chroma's and Spec's e on the same piece."""
    d = cfg.data
    hop_s = features.hop_length(d.sample_rate, d.hop_ms) / d.sample_rate
    rate_range = tuple(cfg.eval.nonlinear_rate_range)
    checkpoints = thread_checkpoints(cfg)
    items = cases(list(cfg.eval.new_inputs_pieces), d.sample_rate, hop_s, rate_range)
    reference = {item["seed"]: baselines(item, d) for item in items}
    rows = []
    for threads in cfg.eval.new_inputs_threads:
        for seed in cfg.eval.seeds:
            module = inference.load_target(checkpoints[seed, threads], "midi")
            for item in items:
                path = inference.midi_to_audio_path(module, item["midi"], item["audio"], item["n"])
                rows.append({"seed": seed, "threads": threads, "piece": item["seed"],
                             **score_alignment(path, item, hop_s), **reference[item["seed"]]})
    return {"rows": rows, "pieces": list(cfg.eval.new_inputs_pieces), "threads": list(cfg.eval.new_inputs_threads),
            "seeds": list(cfg.eval.seeds), "hop_ms": d.hop_ms,
            "model": f"midi-L{cfg.model.latent_dim}-encoder" + ("-wt" if cfg.task.init_from_source else "")}


def section(result: dict):
    """The "On new inputs" section and its ``results.json`` entry (``common.report.targets``)."""
    text = " ".join(f"""`python -m da_vae align` with the default Task 1 model (`{result['model']}`) of every
    seed {result['seeds']}, trained under each torch thread setting {result['threads']}
    (`eval.new_inputs_threads`; another thread count changes the float summation order as another CPU does), on
    {len(result['pieces'])} three-voice piano pieces drawn from fixed seeds {result['pieces']}
    (`eval.new_inputs_pieces`), played with a random non-linear tempo and rendered by FluidSynth with the MuseScore
    General piano, a soundfont no corpus uses. e: alignment error along the true path (frames of
    {result['hop_ms']:g} ms); onset_ms: median error of the re-timed MIDI's note onsets (onsets_50ms: the share
    within 50 ms); e_chroma and e_spec: the same pair aligned with chroma and with piano roll vs log-mel, for
    reference (no target).""".split())
    keys = ["seed", "threads", "piece", "onsets_50ms", "e_chroma", "e_spec"]
    return new_inputs_section(result["rows"], keys, TARGETS, text)
