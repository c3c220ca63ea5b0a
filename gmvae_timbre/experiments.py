"""The paper's measurements on trained models: linear-probe F-scores of z_t and z_p (Table 1), CNN predictions,
t-SNE of the timbre space (Figure 2), controllable synthesis scored by the CNNs (Figure 3), and the CNN's
posterior shift under timbre transfer. F-scores are macro-averaged F1 over the classes (scikit-learn)."""

from __future__ import annotations

import numpy as np
import torch
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.manifold import TSNE
from sklearn.metrics import f1_score
from sklearn.preprocessing import StandardScaler

from common.report import Claim
from gmvae_timbre.data import SolNotes
from gmvae_timbre.inference import sample_mels, transfer_mels
from gmvae_timbre.module import NoteClassifier, TimbrePitchModule

BATCH = 256


def f_score(y_true, y_pred) -> float:
    """Macro F1 over the classes present in ``y_true`` (scikit-learn): the number the tables report."""
    return float(f1_score(y_true, y_pred, average="macro", labels=np.unique(y_true)))


def resampled_f_scores(y_true: np.ndarray, y_pred: np.ndarray, index: np.ndarray) -> np.ndarray:
    """:func:`f_score` of every bootstrap resample ``index (B, n)`` at once -> ``(B,)``: per class
    F1 = 2 TP / (#predicted + #true), averaged over the classes present in the resample's ``y_true``
    (vectorised for the intervals; equal to scikit-learn's on each resample, see the tests)."""
    classes = np.unique(np.concatenate([y_true, y_pred]))
    t = np.searchsorted(classes, y_true)[index]
    p = np.searchsorted(classes, y_pred)[index]
    shape = (len(index), len(classes))
    flat_t = (t + len(classes) * np.arange(len(index))[:, None]).ravel()  # (resample, class) as one index
    flat_p = (p + len(classes) * np.arange(len(index))[:, None]).ravel()
    true = np.bincount(flat_t, minlength=shape[0] * shape[1]).reshape(shape)
    predicted = np.bincount(flat_p, minlength=shape[0] * shape[1]).reshape(shape)
    hits = np.bincount(flat_t, weights=(t == p).ravel(), minlength=shape[0] * shape[1]).reshape(shape)
    present = true > 0
    f1 = np.where(present, 2 * hits / np.maximum(true + predicted, 1), 0.0)
    return f1.sum(1) / present.sum(1)


def f_score_ci(y_true: np.ndarray, predictions: list[np.ndarray], resamples: int, seed: int = 0):
    """Macro F1 averaged over the runs in ``predictions`` (one array per training seed, same items) and its 95%
    percentile-bootstrap interval over the items -> (mean, low, high)."""
    point = float(np.mean([f_score(y_true, p) for p in predictions]))
    index = np.random.default_rng(seed).integers(0, len(y_true), size=(resamples, len(y_true)))
    draws = np.mean([resampled_f_scores(y_true, p, index) for p in predictions], axis=0)
    low, high = np.quantile(draws, [0.025, 0.975])
    return point, float(low), float(high)


Terms = list[tuple[float, list[np.ndarray]]]  # (weight, one prediction array per run) of a contrast of F-scores


def paired_f_score_contrast(y_true: np.ndarray, terms: Terms, resamples: int, seed: int = 0):
    """sum_i w_i F1(p_i) on the same items (each F1 the mean over its runs), with a paired bootstrap interval over
    the items (every term scored on the same resamples) -> (mean, low, high, n)."""
    point = sum(w * np.mean([f_score(y_true, p) for p in runs]) for w, runs in terms)
    index = np.random.default_rng(seed).integers(0, len(y_true), size=(resamples, len(y_true)))
    draws = sum(w * np.mean([resampled_f_scores(y_true, p, index) for p in runs], axis=0) for w, runs in terms)
    low, high = np.quantile(draws, [0.025, 0.975])
    return float(point), float(low), float(high), len(y_true)


def paired_f_score_diff(y_true: np.ndarray, a: list[np.ndarray], b: list[np.ndarray], resamples: int, seed: int = 0):
    """F1(a) - F1(b) (:func:`paired_f_score_contrast`) -> (mean, low, high, n)."""
    return paired_f_score_contrast(y_true, [(1.0, a), (-1.0, b)], resamples, seed)


def seed_interval(values) -> tuple[float, float, float]:
    """Mean of per-seed scores and its 95% Student-t interval over the seeds, clipped to [0, 1] -> (mean, low,
    high); one seed gives (v, v, v)."""
    x = np.asarray(values, dtype=np.float64)
    if len(x) < 2:
        return float(x.mean()), float(x.mean()), float(x.mean())
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return float(x.mean()), float(max(0.0, x.mean() - half)), float(min(1.0, x.mean() + half))


def per_seed_contrast(y_true: np.ndarray, terms: Terms) -> np.ndarray:
    """sum_i w_i F1(p_i) of each training seed (``p_i[s]`` the predictions of seed s) -> ``(seeds,)``."""
    return np.array([sum(w * f_score(y_true, runs[s]) for w, runs in terms) for s in range(len(terms[0][1]))])


def per_seed_differences(y_true: np.ndarray, a: list[np.ndarray], b: list[np.ndarray]) -> np.ndarray:
    """F1(a) - F1(b) of each training seed (``a[s]``, ``b[s]`` the predictions of seed s) -> ``(seeds,)``."""
    return per_seed_contrast(y_true, [(1.0, a), (-1.0, b)])


@torch.no_grad()
def latents(module: TimbrePitchModule, x: np.ndarray) -> dict[str, np.ndarray]:
    """Posterior means ``z_t``, ``z_p`` ``(n, L)`` of scaled log mels ``(n, F, T)``."""
    parts = [module.model.encode(torch.from_numpy(x[i:i + BATCH])) for i in range(0, len(x), BATCH)]
    return {"z_t": torch.cat([p["mu_t"] for p in parts]).numpy(), "z_p": torch.cat([p["mu_p"] for p in parts]).numpy()}


def linear_probe(z: np.ndarray, labels: np.ndarray, train: np.ndarray) -> np.ndarray:
    """A linear (softmax) classifier fitted on the training codes; its predictions on the validation codes."""
    scaler = StandardScaler().fit(z[train])
    classifier = LogisticRegression(max_iter=2000).fit(scaler.transform(z[train]), labels[train])
    return classifier.predict(scaler.transform(z[~train]))


@torch.no_grad()
def classify(classifier: NoteClassifier, x: np.ndarray | torch.Tensor) -> np.ndarray:
    """Class probabilities ``(n, C)`` of the CNN baseline for scaled log mels ``(n, F, T)``."""
    x = torch.as_tensor(x)
    return torch.cat([classifier(x[i:i + BATCH]).softmax(-1) for i in range(0, len(x), BATCH)]).numpy()


def timbre_tsne(z_t: np.ndarray, means: np.ndarray | None, seed: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
    """2-D t-SNE of the timbre codes, with the mixture means embedded jointly -> (codes 2-D, means 2-D)."""
    points = z_t if means is None else np.concatenate([z_t, means])
    # 500 iterations (250 of them early exaggeration): the layout of ~500 points has settled by then
    embedded = TSNE(n_components=2, perplexity=30, init="pca", max_iter=500, random_state=seed).fit_transform(points)
    return (embedded, None) if means is None else (embedded[: len(z_t)], embedded[len(z_t):])


def synthesis_scores(module: TimbrePitchModule, notes: SolNotes, instrument_cnn: NoteClassifier,
                     pitch_cnn: NoteClassifier, weight: float, draws: int, seed: int) -> dict[str, float]:
    """Figure 3: for every validation note's (instrument, pitch), ``draws`` samples z_t ~ N(mu_k, w I),
    z_p ~ N(mu_m, w e^-4 I) decoded and classified by the CNNs -> instrument and pitch F-scores. At w = 0 every
    draw is the same note, so one is decoded (the F-scores of identical copies are the same)."""
    draws = 1 if weight == 0 else draws
    instrument = torch.from_numpy(notes.instrument[notes.val]).repeat(draws)
    pitch = torch.from_numpy(notes.pitch[notes.val]).repeat(draws)
    mels = sample_mels(module, instrument, pitch, weight, torch.Generator().manual_seed(seed))
    return {"instrument": f_score(instrument.numpy(), classify(instrument_cnn, mels).argmax(-1)),
            "pitch": f_score(pitch.numpy(), classify(pitch_cnn, mels).argmax(-1))}


def transfer_posteriors(module: TimbrePitchModule, notes: SolNotes, instrument_cnn: NoteClassifier,
                        instruments: list[str], alphas: list[float]) -> dict:
    """Many-to-many transfer among ``instruments`` on the validation notes: for each source note, target and
    alpha, the instrument CNN's probabilities of the source and of the target instrument.

    Returns ``{"p_source": (alphas, items), "p_target": (alphas, items), "pairs": [(source, target)] per item}``.
    """
    index = [notes.instruments.index(name) for name in instruments]
    val = np.flatnonzero(notes.val)
    rows, sources, targets = [], [], []
    for s in index:
        for t in index:
            if s != t:
                members = val[notes.instrument[val] == s]
                rows += members.tolist()
                sources += [s] * len(members)
                targets += [t] * len(members)
    x = torch.from_numpy(notes.x[rows])
    source, target = torch.tensor(sources), torch.tensor(targets)
    p_source, p_target = [], []
    for alpha in alphas:
        probabilities = classify(instrument_cnn, transfer_mels(module, x, source, target, alpha))
        p_source.append(probabilities[np.arange(len(rows)), sources])
        p_target.append(probabilities[np.arange(len(rows)), targets])
    return {"p_source": np.array(p_source), "p_target": np.array(p_target),
            "pairs": [(notes.instruments[s], notes.instruments[t]) for s, t in zip(sources, targets)],
            "rows": rows}


def degrades_claim(drops: np.ndarray, low: float, high: float) -> Claim:
    """"Larger w degrades the synthesis F-scores": ``drops (N values, runs)`` of instrument F1 at w = ``low``
    minus at w = ``high``. Holds when every run drops at every N and the mean drop's 95% Student-t interval over
    the runs excludes 0; a synthesis that ignores w (no drop) cannot hold."""
    per_run = np.asarray(drops, dtype=float).mean(0)
    mean, low_ci, high_ci = (float(per_run.mean()),) * 3
    if len(per_run) > 1:
        half = stats.t.ppf(0.975, len(per_run) - 1) * per_run.std(ddof=1) / np.sqrt(len(per_run))
        low_ci, high_ci = mean - half, mean + half
    holds = bool((np.asarray(drops) > 0).all() and low_ci > 0)
    return Claim(claim="larger w degrades the synthesis F-scores",
                 holds=holds, evidence=f"instrument F1 at w = {low:g} minus w = {high:g}, mean over N per run: "
                                       f"{' '.join(f'{v:+.3f}' for v in per_run)}; mean {mean:+.3f} "
                                       f"[{low_ci:+.3f}, {high_ci:+.3f}] (Student-t over runs); every (N, run) "
                                       f"must drop; smallest detectable drop {(high_ci - low_ci) / 2:.3f}")
