"""The measurements behind Table 1: train every system over the seeds, run it on the held-out samples, and
score each output: LSD over 100 Hz-3.5 kHz as the reference code computes it (mean over frames of the root
of the summed squared differences of log(0.1 + |S|)), raw chroma accuracy of pYIN on the Griffin-Lim audio
against the input contour, and the proxies (frame phone error of a singing phone recogniser,
speaker-similarity cosine)."""

from __future__ import annotations

import logging
import multiprocessing

import numpy as np
import torch
from omegaconf import DictConfig

from common.metrics import log_spectral_distance, raw_chroma_accuracy
from speech2sing import data, training
from speech2sing import features as fx
from speech2sing.inference import network_outputs
from speech2sing.models import PhoneRecognizer
from speech2sing.module import Speech2SingModule, load_module

log = logging.getLogger(__name__)

INPUT_ROW = "input"  # the stretched speech itself, unconverted: what every system starts from


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
    """The predicted singing log-magnitude (F, T) of ``sample`` (``None`` module: the stretched speech X) and
    the phoneme head's class per frame (T,) (``None`` without a head)."""
    if module is None:
        return sample.X, None
    if module.hparams.system["source"] == "singing":
        return module(torch.from_numpy(sample.Y)[None])[0][0].clamp_min(0).numpy(), None
    return network_outputs(module, sample.X, sample.f0)


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
    hop, sr = d.hop_length, d.sample_rate
    audio = fx.synthesize(log_mag, hop, c.exponent, c.griffinlim_iters)
    lsd = log_spectral_distance(np.expm1(sample.Y), np.expm1(log_mag), "reference", bins=lsd_bins(sr, d.n_fft))
    f0 = fx.pyin_contour(audio, sr, hop, c.fmin, c.fmax)[: len(sample.f0)]
    times = np.arange(len(sample.f0)) * hop / sr
    rca = raw_chroma_accuracy(times, sample.f0, times[: len(f0)], f0)
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
            Y.append(torch.from_numpy(s.Y[:, a:a + 64]))
            phones.append(torch.from_numpy(s.phones[a:a + 64]))
        n = min(len(p) for p in phones)
        logits = model(torch.stack([y[:, :n] for y in Y]))
        loss = torch.nn.functional.cross_entropy(logits, torch.stack([p[:n] for p in phones]).long())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    log.info("phone recogniser: final training CE %.3f", loss.item())
    return model.eval()


_SHARED: dict = {}  # what every row needs, set before the worker processes fork (they inherit it)


def score_row(row: tuple[str, int | None]) -> tuple[str, int | None, list[dict], list[dict]]:
    """Train (or reuse) system ``row = (name, seed)`` and score it on the test items (``name == INPUT_ROW``:
    the stretched speech) -> (name, seed, metrics per item, the first items' log-magnitudes and audio)."""
    cfg, recogniser, speech_mfcc = _SHARED["cfg"], _SHARED["recogniser"], _SHARED["speech_mfcc"]
    name, seed = row
    module = None
    if name != INPUT_ROW:
        sub = training.with_system(cfg, name, seed)
        path = training.last_checkpoint(sub)
        if not path.is_file() or cfg.ckpt_path == "last":
            path = training.train(sub)
        module = load_module(path)
    align = "uniform" if module is None else module.hparams.system["align"]
    scores, outputs = [], []
    for i, sample in enumerate(test_items(cfg, align)):
        log_mag, head_phones = output_of(module, sample)
        metrics, audio = score(log_mag, sample, cfg, recogniser, speech_mfcc[sample.name], head_phones)
        scores.append(metrics)
        if seed in (None, cfg.eval.seeds[0]) and i < max(cfg.eval.examples, 1):
            outputs.append({"log_mag": log_mag, "audio": audio})
    log.info("%s seed %s: LSD %.2f, RCA %.3f over %d items", name, seed,
             np.mean([s["lsd"] for s in scores]), np.mean([s["rca"] for s in scores]), len(scores))
    return name, seed, scores, outputs


def _one_thread_worker() -> None:
    torch.set_num_threads(1)


def run_systems(cfg: DictConfig) -> dict:
    """``{"items": [names], "scores": {system: {seed: [metrics per item]}}, "outputs": {...}}``: every system of
    ``eval.systems`` trained (or resumed) once per seed of ``eval.seeds`` and scored on the test items, plus
    the stretched speech itself (row ``input``), ``eval.workers`` rows at a time (forked processes, one torch
    thread each). ``outputs`` keeps the first seed's log-magnitudes and audio."""
    recogniser = train_recogniser(cfg)
    uniform = test_items(cfg, "uniform")
    if "phsync" in cfg.eval.systems:
        test_items(cfg, "phsync")  # the features are computed once, here, and inherited by the workers
    _SHARED.update(cfg=cfg, recogniser=recogniser,
                   speech_mfcc={s.name: mfcc_mean(s.speech, cfg.data.sample_rate) for s in uniform})
    result = {"items": [s.name for s in uniform], "scores": {}, "outputs": {},
              "target_phone_error": [float(np.mean(recognised_phones(recogniser, s.Y) != s.phones)) for s in uniform]}
    rows = [(name, seed) for name in cfg.eval.systems for seed in cfg.eval.seeds] + [(INPUT_ROW, None)]
    if cfg.eval.workers > 1:
        with multiprocessing.get_context("fork").Pool(cfg.eval.workers, _one_thread_worker) as pool:
            done = pool.map(score_row, rows, chunksize=1)
    else:
        done = [score_row(row) for row in rows]
    for name, seed, scores, outputs in sorted(done, key=lambda r: r[0] != INPUT_ROW):
        result["scores"].setdefault(name, {})[seed or 0] = scores
        if outputs:
            result["outputs"][name] = outputs
    return result
