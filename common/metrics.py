"""Evaluation metrics: bss_eval separation scores and NSDR, length-weighted global averages (GNSDR, ...),
melody raw chroma accuracy, log-spectral distance and macro F-score.

Separation and melody scores are computed by mir_eval (``MIR_EVAL_VERSION``; written against 0.8.2):
``mir_eval.separation.bss_eval_sources`` (BSS Eval v3, whole-signal, no source permutation unless asked)
and ``mir_eval.melody.raw_chroma_accuracy``. mir_eval deprecated its separation module in 0.8 (removal
planned for 0.9); its FutureWarning is silenced here because these scores are meant to be that exact code.
"""

import warnings

import mir_eval
import numpy as np
import scipy.linalg
import torch

MIR_EVAL_VERSION = mir_eval.__version__


def _signals(name: str, x) -> np.ndarray:
    x = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, dtype=np.float64)
    x = np.atleast_2d(x)
    if x.ndim != 2 or x.shape[1] == 0 or not np.isfinite(x).all():
        raise ValueError(f"{name} must be finite (sources, samples) or (samples,), got shape {x.shape}")
    return x


def separation_scores(reference, estimate, mixture=None, compute_permutation: bool = False) -> dict:
    """SDR, SIR, SAR in dB per source (arrays ``(sources,)``) from ``(sources, samples)`` signals.

    With ``mixture (samples,)``, also NSDR = SDR(estimate) - SDR(mixture used as every source's estimate),
    the improvement over doing nothing. A single source gets SIR = inf (there is no interference to
    measure): pass all sources (e.g. voice and accompaniment) for a meaningful SIR.
    """
    reference, estimate = _signals("reference", reference), _signals("estimate", estimate)
    if reference.shape != estimate.shape:
        raise ValueError(f"reference {reference.shape} and estimate {estimate.shape} must have the same shape")
    if not (np.abs(reference).sum(axis=1) > 0).all():
        raise ValueError("every reference source must be non-silent (bss_eval is undefined for silence)")
    if mixture is not None:
        mixture = _signals("mixture", mixture)
        if mixture.shape != (1, reference.shape[1]):
            raise ValueError(f"mixture must be one signal of {reference.shape[1]} samples, got {mixture.shape}")
    with warnings.catch_warnings():
        # mir_eval 0.8 deprecates its separation module (attributed to the caller's frame): pinned < 0.9
        warnings.filterwarnings("ignore", message=r"mir_eval\.separation", category=FutureWarning)
        sdr, sir, sar, _ = mir_eval.separation.bss_eval_sources(reference, estimate, compute_permutation)
        scores = {"SDR": sdr, "SIR": sir, "SAR": sar}
        if mixture is not None:
            do_nothing = np.repeat(mixture, len(reference), axis=0)
            scores["NSDR"] = sdr - mir_eval.separation.bss_eval_sources(reference, do_nothing, False)[0]
    return scores


class SourceScorer:
    """bss_eval v3 scores (SDR, SIR, SAR in dB) of one source, ``reference[source]``, for many estimates
    of it: the numbers of ``mir_eval.separation.bss_eval_sources`` (512-tap distortion filters) for that
    source, with the references' spectra and Gram matrices factorised once, so each estimate costs a few
    FFTs and two solves instead of a whole bss_eval. ``reference``: ``(sources, samples)``, none silent."""

    def __init__(self, reference, source: int = 0, filter_length: int = 512):
        reference = _signals("reference", reference)
        if not (np.abs(reference).sum(axis=1) > 0).all():
            raise ValueError("every reference source must be non-silent (bss_eval is undefined for silence)")
        self.sources, self.samples = reference.shape
        self.source, self.flen = source, filter_length
        padded = np.pad(reference, [(0, 0), (0, filter_length - 1)])
        n_fft = int(2 ** np.ceil(np.log2(self.samples + filter_length - 1.0)))
        self.spectra = np.fft.fft(padded, n=n_fft, axis=1)  # as mir_eval's _project
        self.n_conv = int(2 ** np.ceil(np.log2(self.samples + 2 * filter_length - 2.0)))  # no circular wrap
        self.conv_spectra = np.fft.rfft(padded, n=self.n_conv, axis=1)
        flen, gram = filter_length, np.zeros((self.sources * filter_length,) * 2)
        for i in range(self.sources):
            for j in range(i, self.sources):
                c = np.real(np.fft.ifft(self.spectra[i] * np.conj(self.spectra[j])))
                block = scipy.linalg.toeplitz(np.hstack((c[0], c[-1:-flen:-1])), r=c[:flen])
                gram[i * flen:(i + 1) * flen, j * flen:(j + 1) * flen] = block
                gram[j * flen:(j + 1) * flen, i * flen:(i + 1) * flen] = block.T
        own = slice(source * flen, (source + 1) * flen)
        self.all_lu, self.own_lu = scipy.linalg.lu_factor(gram), scipy.linalg.lu_factor(gram[own, own])

    def _project(self, correlations: np.ndarray, lu, rows: list[int]) -> np.ndarray:
        """Least-squares projection onto delayed copies of the reference rows ``rows``, ``(samples + flen - 1,)``."""
        filters = scipy.linalg.lu_solve(lu, correlations.reshape(-1)).reshape(len(rows), self.flen)
        spectrum = sum(np.fft.rfft(f, n=self.n_conv) * self.conv_spectra[r] for f, r in zip(filters, rows))
        return np.fft.irfft(spectrum, n=self.n_conv)[: self.samples + self.flen - 1]

    def __call__(self, estimate) -> dict[str, float]:
        estimate = _signals("estimate", estimate).reshape(-1)
        if estimate.size != self.samples:
            raise ValueError(f"estimate has {estimate.size} samples, the references {self.samples}")
        flen = self.flen
        spectrum = np.fft.fft(np.pad(estimate, (0, flen - 1)), n=self.spectra.shape[1])
        c = np.real(np.fft.ifft(self.spectra * np.conj(spectrum), axis=1))
        correlations = np.hstack((c[:, :1], c[:, -1:-flen:-1]))  # (sources, flen)
        s_filt = self._project(correlations[self.source], self.own_lu, [self.source])
        e_interf = self._project(correlations, self.all_lu, list(range(self.sources))) - s_filt
        e_artif = -s_filt - e_interf
        e_artif[: self.samples] += estimate

        def db(num, den):
            return float(np.inf if den == 0 else 10 * np.log10(num / den))

        return {"SDR": db(np.sum(s_filt**2), np.sum((e_interf + e_artif) ** 2)),
                "SIR": db(np.sum(s_filt**2), np.sum(e_interf**2)),
                "SAR": db(np.sum((s_filt + e_interf) ** 2), np.sum(e_artif**2))}


def length_weighted_mean(per_item, lengths) -> dict:
    """Global scores over items, each weighted by its length (frames or samples): ``{"G" + key: value}``.

    ``per_item`` is a sequence of score dicts (e.g. from ``separation_scores``); GNSDR is the weighted
    mean of NSDR, GSDR of SDR, and so on, per source.
    """
    lengths = np.asarray(lengths, dtype=np.float64)
    if len(per_item) == 0 or lengths.shape != (len(per_item),) or not (lengths > 0).all():
        raise ValueError(f"need one positive length per item ({len(per_item)} items), got {lengths.shape}")
    keys = per_item[0].keys()
    if any(item.keys() != keys for item in per_item):
        raise ValueError("every item must have the same score keys")
    weights = lengths / lengths.sum()
    return {"G" + key: np.tensordot(weights, np.stack([item[key] for item in per_item]), axes=1) for key in keys}


def raw_chroma_accuracy(ref_times, ref_f0, est_times, est_f0, cent_tolerance: float = 50.0) -> float:
    """Melody raw chroma accuracy (mir_eval) of an estimated f0 track against a reference track.

    Times in seconds, f0 in Hz; unvoiced frames are 0, negative or NaN (as ``librosa.pyin`` returns).
    The estimate is resampled onto the reference times; the pitch class must match within
    ``cent_tolerance`` cents, octave errors forgiven.
    """
    tracks = []
    for name, values in (("ref_times", ref_times), ("ref_f0", ref_f0), ("est_times", est_times), ("est_f0", est_f0)):
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        if len(values) == 0:
            raise ValueError(f"{name} is empty")
        tracks.append(np.nan_to_num(values, nan=0.0))
    if len(tracks[0]) != len(tracks[1]) or len(tracks[2]) != len(tracks[3]):
        raise ValueError("each times array must have as many entries as its f0 array")
    voicing_and_cents = mir_eval.melody.to_cent_voicing(*tracks)
    return float(mir_eval.melody.raw_chroma_accuracy(*voicing_and_cents, cent_tolerance=cent_tolerance))


def log_spectral_distance(S_ref, S_est, variant: str = "db", bins=None, amin: float = 1e-5) -> float:
    """Log-spectral distance between magnitude spectrograms ``(..., bins, frames)`` (numpy or torch).

    ``variant="db"`` (default, in dB): mean over frames of
    ``sqrt(mean_k (20 log10(max(|S_ref|, amin) / max(|S_est|, amin)))^2)`` over frequency bins ``bins``
    (a slice; default all). ``variant="reference"`` is speech2sing's reference-code LSD (natural log,
    sum not mean, bins 7..219 = ~100-3420 Hz at 16 kHz / n_fft 1024 unless ``bins`` is given): mean over
    frames of ``sqrt(sum_k (log(0.1 + |S_ref|) - log(0.1 + |S_est|))^2)``. An estimate longer than the
    reference is cut to its frames, as the reference code does; leading dims are averaged too.
    """
    S_ref, S_est = (torch.as_tensor(S).abs().double() for S in (S_ref, S_est))
    if S_ref.ndim < 2 or S_ref.shape[:-1] != S_est.shape[:-1] or S_est.shape[-1] < S_ref.shape[-1]:
        raise ValueError(f"S_ref {tuple(S_ref.shape)} and S_est {tuple(S_est.shape)} must be (..., bins, frames) "
                         "with equal bins and at least as many estimated frames")
    S_est = S_est[..., : S_ref.shape[-1]]
    if variant == "db":
        band = bins if bins is not None else slice(None)
        ref_db, est_db = (20 * torch.log10(S[..., band, :].clamp_min(amin)) for S in (S_ref, S_est))
        diff = ref_db - est_db
        per_frame = diff.square().mean(dim=-2).sqrt()
    elif variant == "reference":
        band = bins if bins is not None else slice(7, 220)
        diff = torch.log(0.1 + S_ref[..., band, :]) - torch.log(0.1 + S_est[..., band, :])
        per_frame = diff.square().sum(dim=-2).sqrt()
    else:
        raise ValueError(f"variant={variant!r} is unknown; use 'db' or 'reference'")
    return float(per_frame.mean())


def macro_f1(y_true, y_pred, labels=None) -> float:
    """Unweighted mean over classes of the per-class F1 (``mir_eval.util.f_measure`` of precision, recall).

    Classes are ``labels`` or every label seen in either array; a class never predicted nor present
    scores 0, as does one whose precision and recall are both 0.
    """
    y_true, y_pred = np.asarray(y_true).reshape(-1), np.asarray(y_pred).reshape(-1)
    if len(y_true) == 0 or y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} must be non-empty and equally long")
    classes = np.unique(np.concatenate([y_true, y_pred])) if labels is None else np.asarray(labels)
    scores = []
    for c in classes:
        hits = np.sum((y_true == c) & (y_pred == c))
        predicted, actual = np.sum(y_pred == c), np.sum(y_true == c)
        precision = hits / predicted if predicted else 0.0
        recall = hits / actual if actual else 0.0
        scores.append(mir_eval.util.f_measure(precision, recall))
    return float(np.mean(scores))
