"""pYIN (Mauch & Dixon 2014) as ``librosa.pyin`` computes it, several times faster on the short clips the reports
score by the thousand: the per-frame trough priors are computed for all frames at once, and the Viterbi
transition matrix is built once per shape instead of once per call. ``tests/common/test_pyin.py`` holds it equal
to ``librosa.pyin``. The Viterbi decoding visits only the transitions the pitch window allows (a band of about
1/15 of the states) and takes librosa's log(0 + tiny) for all others from the previous frame's best state, so it
picks the same path as ``librosa.sequence.viterbi`` on the dense matrix.
"""

from __future__ import annotations

from functools import cache, lru_cache

import librosa
import numba
import numpy as np
import scipy.stats

N_THRESHOLDS = 100
BETA = (2, 18)  # prior over the YIN thresholds
BOLTZMANN = 2.0  # prior over the troughs below a threshold: earlier (shorter period) troughs weigh more
NO_TROUGH = 0.01  # probability given to the global minimum for thresholds no trough is below
SWITCH = 0.01  # voiced <-> unvoiced transition probability
MAX_TRANSITION_RATE = 35.92  # octaves per second


def pyin(audio: np.ndarray, fmin: float, fmax: float, sr: int, frame_length: int, hop_length: int,
         resolution: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """pYIN contour of mono ``audio`` (frames centred, zero padded; float32 stays float32, as in librosa): (f0 in
    Hz, NaN where unvoiced; voiced flags), one value per ``hop_length`` samples."""
    audio = np.asarray(audio)
    audio = np.pad(audio if audio.dtype in (np.float32, np.float64) else audio.astype(np.float64), frame_length // 2)
    frames = librosa.util.frame(audio, frame_length=frame_length, hop_length=hop_length)
    min_period = int(np.floor(sr / fmax))
    max_period = min(int(np.ceil(sr / fmin)), frame_length - 1)
    yin = cumulative_mean_normalized_difference(frames, min_period, max_period)
    per_semitone = int(np.ceil(1.0 / resolution))
    n_bins = int(np.floor(12 * per_semitone * np.log2(fmax / fmin))) + 1
    observation = observation_probabilities(yin, parabolic_shifts(yin), sr, min_period, fmin, n_bins, per_semitone)
    width = round(MAX_TRANSITION_RATE * 12 * hop_length / sr) * per_semitone + 1
    states = viterbi(observation, *banded_transitions(n_bins, width))
    f0 = fmin * 2 ** (np.arange(n_bins) / (12 * per_semitone))
    voiced = states < n_bins
    return np.where(voiced, f0[states % n_bins], np.nan), voiced


def cumulative_mean_normalized_difference(frames: np.ndarray, min_period: int, max_period: int) -> np.ndarray:
    """YIN's d'(tau) for tau in [min_period, max_period], from frames ``(frame_length, n_frames)``:
    ``(max_period - min_period + 1, n_frames)``."""
    acf = librosa.autocorrelate(frames, max_size=max_period + 1, axis=-2)
    energy = np.cumsum(np.square(frames), axis=-2)
    diff = np.zeros((max_period + 1, frames.shape[1]), dtype=frames.dtype)
    diff[1:] = 2 * (acf[0:1] - acf[1: max_period + 1]) - energy[:max_period]
    mean = np.cumsum(diff[1:], axis=0) / np.arange(1, max_period + 1)[:, None]
    denominator = mean[min_period - 1: max_period]
    return diff[min_period: max_period + 1] / (denominator + librosa.util.tiny(denominator))


def parabolic_shifts(yin: np.ndarray) -> np.ndarray:
    """Offset of the parabola through each bin and its two neighbours (axis 0), 0 where it would leave
    [-1, 1] and at the edges."""
    out = np.zeros_like(yin)
    a = yin[2:] + yin[:-2] - 2 * yin[1:-1]
    b = (yin[2:] - yin[:-2]) / 2
    inside = np.abs(b) < np.abs(a)
    out[1:-1][inside] = -b[inside] / a[inside]
    return out


@cache
def _threshold_priors() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    thresholds = np.linspace(0, 1, N_THRESHOLDS + 1)
    beta = np.diff(scipy.stats.beta.cdf(thresholds, *BETA))
    return thresholds[1:], beta, np.concatenate([[0.0], np.cumsum(beta)])


def observation_probabilities(yin: np.ndarray, shifts: np.ndarray, sr: int, min_period: int, fmin: float,
                              n_bins: int, per_semitone: int) -> np.ndarray:
    """pYIN's observation probabilities ``(2 n_bins, n_frames)``: voiced pitch bins, then unvoiced copies. Each
    trough of d' (a local minimum, or the first period if it is below the second) gets, summed over the
    beta-distributed thresholds it lies below, a Boltzmann prior on its rank among the troughs below that
    threshold; the lowest trough also takes the thresholds no trough is below."""
    upper, beta, beta_below = _threshold_priors()
    is_trough = librosa.util.localmin(yin, axis=0)
    is_trough[0] = yin[0] < yin[1]
    frame, period = np.nonzero(is_trough.T)  # troughs in frame order, by period within a frame
    height = yin[period, frame]
    first_below = np.searchsorted(upper, height, side="right")  # index of the first threshold above the trough
    below = np.arange(N_THRESHOLDS) >= first_below[:, None]  # (troughs, thresholds)
    counts = np.concatenate([np.zeros((1, N_THRESHOLDS), dtype=int), np.cumsum(below, axis=0)])
    first = np.searchsorted(frame, frame, side="left")  # first and one past the last trough of each one's frame
    last = np.searchsorted(frame, frame, side="right")
    rank = counts[1:] - counts[first] - 1  # among the troughs below each threshold, in period order
    total = counts[last] - counts[first]
    lam = BOLTZMANN
    with np.errstate(divide="ignore", invalid="ignore"):
        prior = np.where(below, (1 - np.exp(-lam)) / (1 - np.exp(-lam * total)) * np.exp(-lam * rank), 0.0)
    probs = prior.dot(beta)
    lowest = _first_minimum_per_group(height, frame)
    probs[lowest] += NO_TROUGH * beta_below[first_below[lowest]]
    observation = np.zeros((2 * n_bins, yin.shape[1]))
    keep = probs != 0
    frame, period, probs = frame[keep], period[keep], probs[keep]
    f0 = sr / (min_period + period + shifts[period, frame])
    index = np.clip(np.round(12 * per_semitone * np.log2(f0 / fmin)), 0, n_bins).astype(int)
    observation[index, frame] = probs
    voiced = np.clip(observation[:n_bins].sum(axis=0, keepdims=True), 0, 1)
    observation[n_bins:] = (1 - voiced) / n_bins
    return observation


def _first_minimum_per_group(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Index of the first smallest value of each run of equal, sorted ``groups``."""
    order = np.lexsort((np.arange(len(values)), values, groups))
    first = np.ones(len(order), dtype=bool)
    first[1:] = groups[order][1:] != groups[order][:-1]
    return order[first]


@lru_cache(maxsize=16)
def transition_matrix(n_bins: int, width: int) -> np.ndarray:
    """pYIN's transition matrix over (voiced, unvoiced) x pitch bins: a triangular window of ``width`` bins
    within each voicing, ``SWITCH`` between them."""
    local = librosa.sequence.transition_local(n_bins, width, window="triangle", wrap=False)
    return np.kron(librosa.sequence.transition_loop(2, 1 - SWITCH), local)


@lru_cache(maxsize=16)
def banded_transitions(n_bins: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """For each target state, its nonzero sources ``(states, band)`` in increasing order (-1 pads) and their log
    probabilities (as librosa takes them: log(p + tiny)); whether each state is a source of each target
    ``(states, states)``; and log(tiny), every other transition's log probability."""
    transition = transition_matrix(n_bins, width)
    tiny = librosa.util.tiny(transition)
    inside = transition.T > 0  # [target, source]
    band = int(inside.sum(axis=1).max())
    sources = np.full((len(inside), band), -1, dtype=np.int64)
    log_weights = np.zeros((len(inside), band))
    for target, row in enumerate(inside):
        (index,) = np.nonzero(row)
        sources[target, : len(index)] = index
        log_weights[target, : len(index)] = np.log(transition[index, target] + tiny)
    return sources, log_weights, inside, float(np.log(tiny))


def viterbi(observation: np.ndarray, sources: np.ndarray, log_weights: np.ndarray, inside: np.ndarray,
            log_outside: float) -> np.ndarray:
    """Most likely state sequence ``(n_frames,)`` of observation probabilities ``(states, n_frames)``, from a
    uniform start, under :func:`banded_transitions`."""
    tiny = librosa.util.tiny(observation)
    log_start = np.log(1.0 / len(sources) + tiny)
    return _viterbi(np.log(observation + tiny).T.copy(), sources, log_weights, inside, log_outside, log_start)


@numba.njit(cache=True)
def _viterbi(log_prob, sources, log_weights, inside, log_outside, log_start):  # pragma: no cover (compiled)
    n_frames, n_states = log_prob.shape
    value = log_prob[0] + log_start
    pointer = np.zeros((n_frames, n_states), dtype=np.int64)
    for t in range(1, n_frames):
        top = np.argmax(value)
        new = np.empty(n_states)
        for target in range(n_states):
            best, arg = -np.inf, -1
            for k in range(sources.shape[1]):
                source = sources[target, k]
                if source < 0:
                    break
                candidate = value[source] + log_weights[target, k]
                if candidate > best:
                    best, arg = candidate, source
            if not inside[target, top]:  # the best source outside the band, at librosa's log(0 + tiny)
                candidate = value[top] + log_outside
                if candidate > best or (candidate == best and top < arg):
                    best, arg = candidate, top
            pointer[t, target] = arg
            new[target] = log_prob[t, target] + best
        value = new
    states = np.empty(n_frames, dtype=np.int64)
    states[-1] = np.argmax(value)
    for t in range(n_frames - 2, -1, -1):
        states[t] = pointer[t + 1, states[t + 1]]
    return states
