"""The typed configuration of ``python -m speech2sing``: data, model, optim, system, convert and eval sections
on top of the shared run/trainer/logger/ckpt_path keys (see ``configs/default.yaml`` and ``configs/paper.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from common.lightning import paper_config

# Table 1 systems -> network switches and training mode (see speech2sing.models.Speech2Singing)
SYSTEMS = {
    "b1": dict(melody=False, skips=True, norm="gru", mtl_lambda=0.0, align="uniform", source="speech"),
    "b2": dict(melody=True, skips=False, norm="none", mtl_lambda=0.0, align="uniform", source="speech"),
    "allnorm": dict(melody=True, skips=True, norm="all", mtl_lambda=0.0, align="uniform", source="speech"),
    "p_mse": dict(melody=True, skips=True, norm="gru", mtl_lambda=0.0, align="uniform", source="speech"),
    "p_mtl": dict(melody=True, skips=True, norm="gru", mtl_lambda=None, align="uniform", source="speech"),
    "phsync": dict(melody=True, skips=True, norm="gru", mtl_lambda=0.0, align="phsync", source="speech"),
    # the proposed network itself (both encoders, skips, IN before the GRUs) fed the singing instead of the speech
    "singing_ae": dict(melody=True, skips=True, norm="gru", mtl_lambda=0.0, align="uniform", source="singing"),
}
SYSTEM_NAMES = {"b1": "Baseline 1 (B1)", "b2": "Baseline 2 (B2)", "allnorm": "AllNorm",
                "p_mse": "Proposed MSE (P-MSE)", "p_mtl": "Proposed MTL (P-MTL)",
                "phsync": "Proposed MSE + PhSync", "singing_ae": "Singing Autoencoder"}


@dataclass
class DataConfig:
    """NUS-48E layout ``<root>/nus-smc-corpus_48/<SINGER>/{read,sing}/<nn>.{wav,txt}``; with ``synthetic`` the
    MBROLA stand-in of ``common.corpora`` is built under ``root`` first (it also ships the sung ``.f0``)."""

    root: str = "data/synthetic"
    synthetic: bool = True
    corpus_size: str = "default"  # tiny | default | N songs per singer
    test_song: str = "01"  # the held-out song (all its recordings): the paper keeps one song, two recordings
    sample_rate: int = 16000
    n_fft: int = 1024  # 64 ms window at 16 kHz
    hop_length: int = 256  # 16 ms (the paper); the reference code uses 128 (8 ms)
    min_words: int = 3  # a sample: 3+ consecutive words inside one silence-delimited chunk (words = syllables)
    max_words: int = 0  # at most this many words per sample (0: every combination, the paper)
    silence_db: float = 40.0  # silent frames: energy this far below the loudest frame
    silence_run: int = 3  # remove runs of at least this many silent frames
    pitch_image: str = "onehot"  # onehot (the paper) | linear | harmonics (speech2sing.features.pitch_image)
    pitch_shift: float = 1.0  # augmentation: speech pitch shift ~ U(-p, p) semitones (0 = off)
    crop_frames: int = 0  # random aligned crops of this many frames for training (0 = whole samples)
    batch_size: int = 16
    num_workers: int = 0


@dataclass
class ModelConfig:
    """Widths of :class:`speech2sing.models.Speech2Singing`: the first conv maps the F bins to ``channels``,
    three frequency-downsampling convs halve it to ``channels / 8``; ``phone_channels`` is the phoneme head."""

    channels: int = 512
    phone_channels: int = 128
    phones: int = 41  # 39 CMU phones, silence, inhalation
    melody_skip: bool = False  # not in the paper: the pitch image also added onto the output (models.Speech2Singing)


@dataclass
class OptimConfig:
    lr: float = 0.002
    decay: float = 0.92  # exponential decay of the learning rate, once per ``decay_every`` steps
    decay_every: int = 1000  # the paper gives no period: one decay per 1000-iteration epoch is our reading
    mtl_lambda: float = 0.015  # weight of the phoneme CE in P-MTL


@dataclass
class ConvertConfig:
    """Prediction: exp(x) - 1, magnitude ** ``exponent``, ``griffinlim_iters`` of Griffin-Lim."""

    exponent: float = 1.2
    griffinlim_iters: int = 40
    fmin: float = 65.0  # pYIN range for a sung/hummed melody wav
    fmax: float = 1000.0


@dataclass
class EvalConfig:
    """``python -m speech2sing eval``: train the systems (``systems``) over ``seeds`` and write Table 1 to ``out``."""

    out: str = "reports/speech2sing"
    systems: list[str] = field(default_factory=lambda: list(SYSTEMS))
    seeds: list[int] = field(default_factory=lambda: [0])
    n_items: int = 100  # random test samples with at least ``min_speech_s`` of speech (fewer if fewer exist)
    min_speech_s: float = 1.0
    examples: int = 2  # audio examples written to the report
    recogniser_steps: int = 300  # the singing phone recogniser of the intelligibility proxy
    griffinlim_iters: int = 16  # Griffin-Lim iterations (after the PGHI phase) of the scored outputs
    pitch_hop: int = 512  # samples between the pYIN frames of RCA (the estimate is resampled onto the contour)
    threads: list[int] = field(default_factory=lambda: [1])  # torch threads of each training (Table 1: the first;
    # the default system `system` is trained once per setting, its rows of "On new inputs" per seed and setting)
    melody_seeds: list[int] = field(default_factory=lambda: [100, 101, 102])  # held-out melodies per input set
    workers: int = 2  # jobs at a time (common.parallel.worker_pool: spawned processes of one torch thread)
    seed: int = 0


@dataclass
class Speech2SingConfig(paper_config("Speech2SingSections", __name__, data=DataConfig, model=ModelConfig,
                                     optim=OptimConfig, convert=ConvertConfig, eval=EvalConfig)):
    """ckpt: the trained checkpoint `convert` uses (default: this run's system checkpoint)."""

    system: str = "p_mtl"  # b1 | b2 | allnorm | p_mse | p_mtl | phsync | singing_ae (Table 1 rows)
