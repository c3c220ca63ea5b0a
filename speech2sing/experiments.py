"""The measurements behind Table 1: train every system over the seeds, run it on the held-out samples, and
score each output: LSD over 100 Hz-3.5 kHz as the reference code computes it (mean over frames of the root
of the summed squared differences of log(0.1 + |S|)), raw chroma accuracy of pYIN on the Griffin-Lim audio
against the input contour, and the proxies (frame phone error of a singing phone recogniser,
speaker-similarity cosine)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from common.lightning import check_reusable, run_dir
from common.lightning.reuse import TRAINING_KEYS
from common.metrics import log_spectral_distance, raw_chroma_accuracy
from common.parallel import worker_pool
from speech2sing import data, training
from speech2sing import features as fx
from speech2sing.config import SYSTEMS
from speech2sing.inference import network_outputs
from speech2sing.models import PhoneRecognizer
from speech2sing.module import Speech2SingModule, load_module

log = logging.getLogger(__name__)

INPUT_ROW = "input"  # the stretched speech itself, unconverted: what every system starts from
RECOGNISER = "phone_recogniser"  # the job training the phone recogniser of the intelligibility proxy
# training jobs start longest first (measured CPU per step: the phoneme head, IN everywhere and both encoders
# cost most, B1's single encoder least) and the short recogniser last, so both workers finish together
LONGEST_FIRST = ("p_mtl", "allnorm", "singing_ae", "p_mse", "phsync", "b2", "b1")


def lsd_bins(sample_rate: int, n_fft: int, low_hz: float = 100.0, high_hz: float = 3500.0) -> slice:
    """STFT bins from ``low_hz`` to ``high_hz`` inclusive (7..224 at 16 kHz, n_fft 1024)."""
    step = sample_rate / n_fft
    return slice(int(np.ceil(low_hz / step)), int(np.floor(high_hz / step)) + 1)


def test_items(cfg: DictConfig, align: str) -> list[data.Sample]:
    """Up to ``eval.n_items`` held-out samples with at least ``eval.min_speech_s`` of speech, in a seeded order
    that is the same for every system (PhSync samples pair with the uniform ones by name)."""
    items = [s for s in data.samples(cfg, align)["test"] if s.speech_s >= cfg.eval.min_speech_s]
    names = sorted(s.name for s in data.samples(cfg, "uniform")["test"] if s.speech_s >= cfg.eval.min_speech_s)
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


def mfcc_mean(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    import librosa

    return librosa.feature.mfcc(y=np.asarray(audio, dtype=np.float32), sr=sample_rate, n_mfcc=25)[1:].mean(1)


@torch.no_grad()
def recognised_phones(recogniser: PhoneRecognizer, log_mag: np.ndarray) -> np.ndarray:
    """The recogniser's phone class per frame (T,) of a log-magnitude (F, T)."""
    return recogniser(torch.from_numpy(np.ascontiguousarray(log_mag))[None])[0].argmax(0).numpy()


def score(log_mag: np.ndarray, sample: data.Sample, cfg: DictConfig, recogniser: PhoneRecognizer,
          speech_mfcc: np.ndarray, head_phones: np.ndarray | None = None) -> tuple[dict, np.ndarray]:
    """Metrics of one output and its Griffin-Lim audio; ``speech_mfcc`` is :func:`mfcc_mean` of the item's
    speech, ``head_phones`` the P-MTL phoneme head's classes (scored as ``head_phone_error``)."""
    d, c = cfg.data, cfg.convert
    hop, sr, pitch_hop = d.hop_length, d.sample_rate, cfg.eval.pitch_hop
    audio = fx.synthesize(log_mag, hop, c.exponent, cfg.eval.griffinlim_iters)
    lsd = log_spectral_distance(np.expm1(sample.Y), np.expm1(log_mag), "reference", bins=lsd_bins(sr, d.n_fft))
    f0 = fx.pyin_contour(audio, sr, pitch_hop, c.fmin, c.fmax)
    times = np.arange(len(sample.f0)) * hop / sr
    rca = raw_chroma_accuracy(times, sample.f0, np.arange(len(f0)) * pitch_hop / sr, f0)
    a = mfcc_mean(audio, sr)
    cosine = float(a @ speech_mfcc / max(1e-9, np.linalg.norm(a) * np.linalg.norm(speech_mfcc)))
    metrics = {"lsd": lsd, "rca": rca, "speaker_cosine": cosine,
               "phone_error": float(np.mean(recognised_phones(recogniser, log_mag) != sample.phones))}
    if head_phones is not None:
        metrics["head_phone_error"] = float(np.mean(head_phones != sample.phones))
    return metrics, audio


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
    return run_dir(cfg, training.PACKAGE) / "phone_recogniser.pt"


def train_job(container: dict, name: str, seed: int) -> tuple[str, float]:
    """A job of :func:`run_systems`: train system ``name`` with ``seed`` unless its ``last.ckpt`` exists (or
    ``ckpt_path=last`` asks to resume); ``name == RECOGNISER`` trains the phone recogniser instead. Returns the
    checkpoint and the job's CPU seconds."""
    started = time.process_time()
    cfg = OmegaConf.create(container)
    if name == RECOGNISER:
        path = recogniser_path(cfg)
        if not path.is_file() or cfg.ckpt_path == "last":
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.save(train_recogniser(cfg).state_dict(), path)
        return str(path), time.process_time() - started
    sub = training.with_system(cfg, name, seed)
    path = training.last_checkpoint(sub)
    if not path.is_file() or cfg.ckpt_path == "last":
        path = training.train(sub)
    else:  # a finished run is reused only if it was trained with this config
        check_reusable(path.parents[1], sub, (*TRAINING_KEYS, "data"), ignore=("data.root", "data.num_workers"))
    return str(path), time.process_time() - started


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
    scores, outputs = [], []
    for i, sample in enumerate(test_items(cfg, align)):
        log_mag, head_phones = output_of(module, sample)
        metrics, audio = score(log_mag, sample, cfg, phones, mfcc_mean(sample.speech, cfg.data.sample_rate),
                               head_phones)
        scores.append(metrics)
        if seed in (None, cfg.eval.seeds[0]) and i < max(cfg.eval.examples, 1):
            outputs.append({"log_mag": log_mag, "audio": audio})
    log.info("%s seed %s: LSD %.2f, RCA %.3f over %d items", name, seed,
             np.mean([s["lsd"] for s in scores]), np.mean([s["rca"] for s in scores]), len(scores))
    return name, seed, scores, outputs, time.process_time() - started


def run_systems(cfg: DictConfig) -> dict:
    """``{"items": [names], "scores": {system: {seed: [metrics per item]}}, "outputs": {...}, "cpu": {...}}``:
    every system of ``eval.systems`` trained (or reused) once per seed of ``eval.seeds`` and scored on the test
    items, plus the stretched speech itself (row ``input``), in ``eval.workers`` processes of one torch thread
    each (``common.parallel.worker_pool``): the samples are prepared once, to disk, and every job reads them
    memory-mapped. ``outputs`` keeps the first seed's log-magnitudes and audio; ``cpu`` the CPU seconds of the
    jobs (training per system, scoring per system) and the wall seconds of the sample preparation."""
    container = OmegaConf.to_container(cfg)
    cpu: dict = {"train": {}, "score": {}}
    with worker_pool(cfg.eval.workers, cfg.log_level) as run:
        started = time.perf_counter()
        for align in sorted({SYSTEMS[name]["align"] for name in cfg.eval.systems} | {"uniform"}):
            data.samples(cfg, align, run)
        cpu["prepare_wall"] = time.perf_counter() - started
        order = {name: k for k, name in enumerate(LONGEST_FIRST)}
        trained = sorted(((name, seed) for name in cfg.eval.systems for seed in cfg.eval.seeds),
                         key=lambda job: order.get(job[0], -1))
        jobs = [*trained, (RECOGNISER, 0)]
        paths = []
        for (name, _), (path, seconds) in zip(jobs, run(train_job, [container] * len(jobs), *zip(*jobs))):
            paths.append(path)
            cpu["train"][name] = cpu["train"].get(name, 0.0) + seconds
        rows = [*trained, (INPUT_ROW, None)]
        checkpoints = [*paths[:-1], None]
        done = list(run(score_job, [container] * len(rows), *zip(*rows), checkpoints, [paths[-1]] * len(rows)))
    uniform = test_items(cfg, "uniform")
    recogniser = PhoneRecognizer(cfg.data.n_fft // 2 + 1, 64, cfg.model.phones)
    recogniser.load_state_dict(torch.load(paths[-1], map_location="cpu"))
    result = {"items": [s.name for s in uniform], "scores": {}, "outputs": {}, "cpu": cpu,
              "target_phone_error": [float(np.mean(recognised_phones(recogniser.eval(), s.Y) != s.phones))
                                     for s in uniform]}
    for name, seed, scores, outputs, seconds in sorted(done, key=lambda r: r[0] != INPUT_ROW):
        result["scores"].setdefault(name, {})[seed or 0] = scores
        cpu["score"][name] = cpu["score"].get(name, 0.0) + seconds
        if outputs:
            result["outputs"][name] = outputs
    return result
