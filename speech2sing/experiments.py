"""The measurements behind the report: train every system over the seeds (and the default system over the
thread settings), pick test items that do not overlap in time, score each system on them
(``speech2sing.scores``) and the default system on held-out inputs (``speech2sing.newinputs``)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from common.lightning import check_reusable, run_dir
from common.lightning.reuse import TRAINING_KEYS
from common.parallel import map_by_threads, worker_pool
from common.threads import intra_op_threads
from speech2sing import data, training
from speech2sing.config import SYSTEMS
from speech2sing.inference import network_outputs
from speech2sing.models import PhoneRecognizer
from speech2sing.module import PACKAGE, Speech2SingModule, load_module
from speech2sing.scores import (
    cepstral_distance,
    constant_pitch_rca,
    envelope,
    recognised_phones,
    score,
    singer_envelopes,
)
from speech2sing.table1 import CONSTANT_ROW, INPUT_ROW

log = logging.getLogger(__name__)

RECOGNISER = "phone_recogniser"  # the job training the phone recogniser of the intelligibility proxy
# training jobs start longest first (measured CPU per step: the phoneme head, IN everywhere and both encoders
# cost most, B1's single encoder least) and the short recogniser last, so both workers finish together
LONGEST_FIRST = ("p_mtl", "allnorm", "singing_ae", "p_mse", "phsync", "b2", "b1")


def sung_interval(name: str) -> tuple[str, float, float]:
    """(recording, start s, end s) of a sample named ``<singer>/<song>@<start>-<end>``."""
    recording, _, span = name.rpartition("@")
    start, end = span.split("-")
    return recording, float(start), float(end)


def disjoint(names: list[str]) -> list[str]:
    """The most samples of ``names`` no two of which overlap in sung time within a recording (earliest end first,
    the optimum of interval scheduling), in time order."""
    chosen, last_end = [], {}
    for name in sorted(names, key=lambda n: sung_interval(n)[2]):
        recording, start, end = sung_interval(name)
        if start >= last_end.get(recording, -1.0):
            chosen.append(name)
            last_end[recording] = end
    return chosen


def test_items(cfg: DictConfig, align: str) -> list[data.Sample]:
    """Up to ``eval.n_items`` held-out samples with at least ``eval.min_speech_s`` of speech, no two overlapping
    in time (independent items for the intervals), a seeded draw in an order that is the same for every system
    (PhSync samples pair with the uniform ones by name)."""
    items = [s for s in data.samples(cfg, align)["test"] if s.speech_s >= cfg.eval.min_speech_s]
    names = disjoint([s.name for s in data.samples(cfg, "uniform")["test"] if s.speech_s >= cfg.eval.min_speech_s])
    order = np.random.default_rng(cfg.eval.seed).permutation(names)[: cfg.eval.n_items]
    by_name = {s.name: s for s in items}
    return [by_name[n] for n in order if n in by_name]


@torch.no_grad()
def output_of(module: Speech2SingModule | None, sample: data.Sample) -> tuple[np.ndarray, np.ndarray | None]:
    """The predicted singing log-magnitude (F, T) of ``sample`` (``None`` module: the stretched speech X; the
    Singing Autoencoder reads the singing Y) and the phoneme head's class per frame (T,) (``None`` without a head)."""
    if module is None:
        return sample.X, None
    source = sample.Y if module.hparams.system["source"] == "singing" else sample.X
    return network_outputs(module, np.ascontiguousarray(source), sample.f0)


def train_recogniser(cfg: DictConfig) -> PhoneRecognizer:
    """A frame phone recogniser on the training singing (log(1+|S|) -> 41 classes), for the intelligibility
    proxy: Adam, random 64-frame crops, ``eval.recogniser_steps`` steps."""
    torch.manual_seed(cfg.eval.seed)
    rng = np.random.default_rng(cfg.eval.seed)
    train = data.samples(cfg)["train"]
    model = PhoneRecognizer(cfg.data.n_fft // 2 + 1, 64, cfg.model.phones)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.003)
    for _ in range(cfg.eval.recogniser_steps):
        Y, phones = [], []
        for i in rng.integers(0, len(train), 8):
            s = train[i]
            a = int(rng.integers(0, max(1, s.Y.shape[1] - 64)))
            Y.append(torch.from_numpy(np.ascontiguousarray(s.Y[:, a:a + 64])))
            phones.append(torch.from_numpy(s.phones[a:a + 64].astype(np.int64)))
        n = min(len(p) for p in phones)
        logits = model(torch.stack([y[:, :n] for y in Y]))
        loss = torch.nn.functional.cross_entropy(logits, torch.stack([p[:n] for p in phones]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    log.info("phone recogniser: final training CE %.3f", loss.item())
    return model.eval()


def recogniser_path(cfg: DictConfig) -> Path:
    return run_dir(cfg, PACKAGE) / "phone_recogniser.pt"


def train_job(container: dict, name: str, seed: int, threads: int = 1) -> tuple[str, float]:
    """A job of :func:`run_systems`: train system ``name`` with ``seed`` on ``threads`` torch threads unless its
    ``last.ckpt`` exists (or ``ckpt_path=last`` asks to resume); ``name == RECOGNISER`` trains the phone
    recogniser instead. Returns the checkpoint and the job's CPU seconds."""
    started = time.process_time()
    cfg = OmegaConf.create(container)
    if name == RECOGNISER:
        path = recogniser_path(cfg)
        if not path.is_file() or cfg.ckpt_path == "last":
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.save(train_recogniser(cfg).state_dict(), path)
        return str(path), time.process_time() - started
    sub = training.with_system(cfg, name, seed, threads)
    path = training.last_checkpoint(sub)
    if not path.is_file() or cfg.ckpt_path == "last":
        with intra_op_threads(threads if threads > 0 else None):
            path = training.train(sub)
    else:  # a finished run is reused only if it was trained with this config
        check_reusable(path.parents[1], sub, (*TRAINING_KEYS, "data", "threads"),
                       ignore=("data.root", "data.num_workers"))
    return str(path), time.process_time() - started


def training_jobs(cfg: DictConfig) -> list[tuple[str, int, int]]:
    """(system, seed, threads) of every model the eval trains, longest first: each system of ``eval.systems`` once
    per seed on the first thread setting of ``eval.threads`` (Table 1), and the default system (``system``,
    what ``convert`` uses) once per seed and thread setting (On new inputs)."""
    first = cfg.eval.threads[0]
    jobs = [(name, seed, first) for name in cfg.eval.systems for seed in cfg.eval.seeds]
    jobs += [(cfg.system, seed, t) for seed in cfg.eval.seeds for t in cfg.eval.threads
             if (cfg.system, seed, t) not in jobs]
    order = {name: k for k, name in enumerate(LONGEST_FIRST)}
    return sorted(jobs, key=lambda job: (order.get(job[0], -1), -job[2]))


def score_job(container: dict, name: str, seed: int | None, checkpoint: str | None, recogniser: str
              ) -> tuple[str, int | None, list[dict], list[dict], float]:
    """A job of :func:`run_systems`: score system ``name`` (its ``checkpoint``; ``INPUT_ROW``: the stretched
    speech) on the test items -> (name, seed, metrics per item, the first items' log-magnitudes and audio, the
    job's CPU seconds)."""
    started = time.process_time()
    cfg = OmegaConf.create(container)
    phones = PhoneRecognizer(cfg.data.n_fft // 2 + 1, 64, cfg.model.phones)
    phones.load_state_dict(torch.load(recogniser, map_location="cpu"))
    phones.eval()
    module = None if checkpoint is None else load_module(checkpoint)
    align = "uniform" if module is None else module.hparams.system["align"]
    scores, outputs, singers = [], [], singer_envelopes(cfg)
    for i, sample in enumerate(test_items(cfg, align)):
        log_mag, head_phones = output_of(module, sample)
        metrics, audio = score(log_mag, sample, cfg, phones, singers, head_phones)
        scores.append(metrics)
        if seed in (None, cfg.eval.seeds[0]) and i < max(cfg.eval.examples, 1):
            outputs.append({"log_mag": log_mag, "audio": audio})
    log.info("%s seed %s: LSD %.2f, RCA %.3f over %d items", name, seed,
             np.mean([s["lsd"] for s in scores]), np.mean([s["rca"] for s in scores]), len(scores))
    return name, seed, scores, outputs, time.process_time() - started


def run_systems(cfg: DictConfig) -> dict:
    """``{"items": [names], "scores": {system: {seed: [metrics per item]}}, "outputs": {...}, "new_inputs": [rows],
    "cpu": {...}}``: the models of :func:`training_jobs` trained (or reused) and scored, Table 1's on the test items
    (plus the stretched speech itself, row ``input``), the default system's on held-out inputs
    (``speech2sing.newinputs``), in ``eval.workers`` processes of one torch thread each
    (``common.parallel.worker_pool``): the samples are prepared once, to disk, and every job reads them
    memory-mapped. ``outputs`` keeps the first seed's log-magnitudes and audio; ``cpu`` the CPU seconds of the
    jobs (training per system, scoring per system) and the wall seconds of the sample preparation."""
    from speech2sing import newinputs

    container = OmegaConf.to_container(cfg)
    cpu: dict = {"train": {}, "score": {}}
    with worker_pool(cfg.eval.workers, cfg.log_level) as run:
        started = time.perf_counter()
        for align in sorted({SYSTEMS[name]["align"] for name in cfg.eval.systems} | {"uniform"}):
            data.samples(cfg, align, run)
        cpu["prepare_wall"] = time.perf_counter() - started
        jobs = [*training_jobs(cfg), (RECOGNISER, 0, 1)]
        paths = {}
        for job, (path, seconds) in zip(jobs, map_by_threads(run, train_job, [(container, *j) for j in jobs],
                                                             [j[2] for j in jobs], cfg.eval.workers,
                                                             cfg.log_level)):
            paths[job] = path
            cpu["train"][job[0]] = cpu["train"].get(job[0], 0.0) + seconds
        first = cfg.eval.threads[0]
        rows = [(name, seed) for name, seed, threads in jobs[:-1] if threads == first and name in cfg.eval.systems]
        rows.append((INPUT_ROW, None))
        checkpoints = [paths.get((name, seed, first)) for name, seed in rows]
        recogniser = paths[jobs[-1]]
        scoring = run(score_job, [container] * len(rows), *zip(*rows), checkpoints, [recogniser] * len(rows))
        held = [(seed, t, group) for seed in cfg.eval.seeds for t in cfg.eval.threads for group in newinputs.GROUPS]
        new = run(newinputs.job, [container] * len(held), [paths[(cfg.system, s, t)] for s, t, _ in held],
                  *zip(*held))
        done, new_rows = list(scoring), list(new)
    cpu["score"]["new inputs"] = sum(r.pop("cpu") for r in new_rows)
    uniform = test_items(cfg, "uniform")
    phones = PhoneRecognizer(cfg.data.n_fft // 2 + 1, 64, cfg.model.phones)
    phones.load_state_dict(torch.load(recogniser, map_location="cpu"))
    train_phones = np.concatenate([s.phones for s in data.samples(cfg)["train"]])
    majority = int(np.bincount(train_phones).argmax())
    singers = singer_envelopes(cfg)
    nearest = [min(singers, key=lambda k: cepstral_distance(envelope(s.Y), singers[k])) == s.singer
               for s in uniform if s.singer in singers]
    result = {"items": [s.name for s in uniform], "scores": {}, "outputs": {}, "cpu": cpu, "new_inputs": new_rows,
              "target_phone_error": [float(np.mean(recognised_phones(phones.eval(), s.Y) != s.phones))
                                     for s in uniform],
              "majority_phone_error": [float(np.mean(s.phones != majority)) for s in uniform],
              "target_speaker_nearest": float(np.mean(nearest)) if nearest else float("nan")}
    result["scores"][CONSTANT_ROW] = {0: [{"rca": constant_pitch_rca(s.f0)} for s in uniform]}
    for name, seed, scores, outputs, seconds in sorted(done, key=lambda r: r[0] != INPUT_ROW):
        result["scores"].setdefault(name, {})[seed or 0] = scores
        cpu["score"][name] = cpu["score"].get(name, 0.0) + seconds
        if outputs:
            result["outputs"][name] = outputs
    return result
