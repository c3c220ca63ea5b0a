"""The typed configuration of ``python -m gmvae_timbre``: data, model, optim, train and eval sections on top of
the shared run/trainer/logger/ckpt_path keys (see ``configs/default.yaml`` and ``configs/paper.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from common.lightning import paper_config

MODEL_KINDS = ("gmvae", "vae")  # M_GMVAE (Gaussian-mixture timbre prior) | M_VAE (isotropic timbre prior)
LABEL_FRACTIONS = (0, 25, 50, 75, 100)  # N: percent of the training notes whose instrument label is used


@dataclass
class DataConfig:
    """SOL notes: ``root`` holds ``<Family>/<Instrument>/ordinario/*.wav`` (TinySOL or SOL naming); with
    ``synthetic`` the stand-in corpus is built under ``root`` first (``common.corpora``)."""

    root: str = "data/synthetic"
    synthetic: bool = True
    corpus_size: str = "default"  # tiny | default | N pitches per octave of the synthetic SOL
    sol: str | None = None  # explicit SOL root; default <root>/sol/TinySOL when synthetic, else <root>
    cache: str = "data/cache/gmvae_timbre"
    sample_rate: int = 22050
    seconds: float = 0.5  # the first 500 ms of each note
    n_fft: int = 2048  # 92.9 ms window
    hop_length: int = 256  # 11.6 ms hop
    frames: int = 43
    n_mels: int = 256
    fmin: float = 27.5
    fmax: float = 11000.0
    log_floor: float = 1e-5  # mel magnitudes are clamped here before the log
    val_fraction: float = 0.1  # held-out notes, stratified by instrument
    split_seed: int = 0
    label_fraction: int = 100  # N (percent): instrument labels kept for training, stratified by instrument
    batch_size: int = 128
    num_workers: int = 0


@dataclass
class ModelConfig:
    """Each encoder: two Conv1d(k=3) of ``channels`` over mel bands as channels, FC ``hidden``, a Gaussian layer
    of size ``latent_dim``; BN + ReLU after every hidden layer. The decoder mirrors it with a tanh output."""

    kind: str = "gmvae"  # gmvae | vae
    latent_dim: int = 16
    channels: int = 512
    hidden: int = 512
    pitch_log_sigma: float = -2.0  # pitch prior standard deviation e^-2
    timbre_log_sigma: float = 0.0  # timbre mixture components' standard deviation e^0
    classifier_hidden: int = 128  # M_VAE auxiliary instrument classifier: two FC layers of this size
    label_weight: float = 1.0  # weight of the instrument cross-entropy on the labelled notes
    # weight of the cross-entropy of a linear pitch classifier on z_p (every note: pitch is always labelled).
    # The paper does not mention it; the authors' released configuration adds it with weight 1. 0: no classifier
    pitch_weight: float = 0.0
    qy_samples: int = 1  # samples of z_t in the Monte Carlo estimate of q(y_t|X) = E_q(z_t|X)[p(y_t|z_t)]


@dataclass
class OptimConfig:
    lr: float = 1e-4
    # learning rate of the pitch and timbre class means (null: lr). Adam moves a weight by at most about lr a
    # step, so in a short run the Xavier-initialised means (within +-0.5) cannot spread out at lr
    prior_lr: float | None = None
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])


@dataclass
class EvalConfig:
    """The paper's experiments (``python -m gmvae_timbre eval``), written to ``out``."""

    out: str = "reports/gmvae_timbre"
    label_fractions: list[int] = field(default_factory=lambda: list(LABEL_FRACTIONS))
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])  # training seeds of every model
    threads: list[int] = field(default_factory=lambda: [1])  # every seed is trained under each thread count
    workers: int = 2  # one-thread models trained in parallel processes
    # overrides (key=value) for the models of the label-fraction grid (Table 1, Figures 2-3) and the CNNs; the
    # default models (M_GMVAE, N = 100: the verbs' models, On new inputs, the transfer) use the config as it is
    grid: list[str] = field(default_factory=list)
    # the CNN baselines and judges train to convergence: until their validation loss, checked every cnn_val_every
    # steps, has not fallen for cnn_patience checks in a row, and at most cnn_max_steps (cnn_patience 0: exactly that)
    cnn_max_steps: int = 300
    cnn_patience: int = 5
    cnn_val_every: int = 100
    synthesis_draws: int = 30  # Figure 3: samples per validation target
    synthesis_weights: list[float] = field(default_factory=lambda: [0.0, 0.5, 1.0])  # w
    transfer_alphas: list[float] = field(default_factory=lambda: [0.0, 0.25, 0.5, 0.75, 1.0])
    transfer_instruments: list[str] = field(default_factory=lambda: ["Hn", "Pno", "Vc", "Bn"])
    transfer_label_fraction: int = 100  # the M_GMVAE whose mixture means drive the transfer
    griffinlim_iters: int = 32
    bootstrap: int = 2000  # resamples of the validation notes for the intervals
    examples: int = 3  # audio examples (synthesis, transfer) in the report
    heldout_seed: int = 0  # draws the pitches of the held-out notes (On new inputs)
    heldout_notes: int = 3  # held-out notes per instrument
    heldout_targets: int = 2  # transfer targets per held-out note (instruments whose range holds its pitch)
    # `transfer` and its On new inputs measure decode the mean of the pitch class read from the note, not the note's
    # own pitch code (the paper's; the paper's transfer experiments keep it): a note from another source lies off
    # the classes the decoder learned, and low notes then come out unvoiced
    snap_pitch: bool = True


# ckpt: the trained model synth / transfer / interpolate use (default: the eval's)
GmvaeConfig = paper_config("GmvaeConfig", __name__, data=DataConfig, model=ModelConfig, optim=OptimConfig,
                           eval=EvalConfig)
