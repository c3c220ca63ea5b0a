"""The typed configuration of ``python -m da_vae``: data, model, optim, task and eval sections on top of the
shared run/trainer/logger/ckpt_path keys (see ``configs/default.yaml`` and ``configs/paper.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from common.lightning import paper_config

TASKS = ("midi", "singing", "separation")  # Task 1 audio-to-MIDI, Task 2 singing alignment, Task 3 separation
STAGES = ("source", "target", "both")


@dataclass
class AugmentConfig:
    """Training-time augmentation of the target audio of Tasks 1-2 (``da_vae.augment``): random EQ, room reverb
    and level, drawn per training segment before its log-mel is taken; validation and eval audio is left as is.
    Separation ignores it."""

    enabled: bool = False
    gain_db: float = 6.0  # level: uniform in [-gain_db, gain_db] dB
    eq_db: float = 6.0  # EQ: gains uniform in [-eq_db, eq_db] dB at eq_bands log-spaced frequencies (60 Hz-Nyquist)
    eq_bands: int = 6
    reverb_probability: float = 0.5  # share of segments played in a synthetic room
    reverb_seconds: list[float] = field(default_factory=lambda: [0.2, 0.8])  # RT60 range of the room, s
    reverb_wet: list[float] = field(default_factory=lambda: [0.1, 0.6])  # reverb energy / direct energy range


@dataclass
class DataConfig:
    """Datasets, features and segments. ``root`` holds ``MAPS/`` and ``MIR-1K/``; with ``synthetic`` the
    stand-in corpora are built there first (``common.corpora``). Task 1 trains on the MAPS pianos
    ``instruments`` and is also evaluated on ``heldout_instrument``, a piano none of them is."""

    root: str = "data/synthetic"
    synthetic: bool = True
    corpus_size: str = "default"  # tiny | default | N: size of the synthetic corpora
    maps: str | None = None  # explicit MAPS root (holding the instrument folders); default <root>/MAPS
    instruments: list[str] = field(default_factory=lambda: ["AkPnBcht", "AkPnStgb", "SptkBGCl", "StbgTGd2"])
    heldout_instrument: str = "ENSTDkCl"  # Task 1 is evaluated on its validation pieces; never trained on
    mir1k: str | None = None  # explicit MIR-1K root (holding Wavfile/); default <root>/MIR-1K
    cache: str = "data/cache/da_vae"  # prepared features, one sub-directory per task and feature settings
    sample_rate: int = 16000  # Hz; 1024-point STFT = 64 ms Hann window at 16 kHz
    n_fft: int = 1024
    hop_ms: float = 20.0
    midi_mels: int = 128  # Task 1 mel bands (and 128 piano-roll pitches)
    singing_mels: int = 256  # Task 2 mel bands
    segment_frames: int = 21  # T: 21 frames = 400 ms
    train_hop_frames: int = 10  # segments every 10 frames for training and validation
    val_fraction: float = 0.2  # MAPS 24/6 pieces, MIR-1K 88/22 songs
    split_seed: int = 0
    batch_size: int = 128
    num_workers: int = 0
    augment: AugmentConfig = field(default_factory=AugmentConfig)


@dataclass
class ModelConfig:
    """Table 1: Conv 1xF (channels[0]), Conv 3x1 stride 2 (channels[1]), Conv 2x1 stride 2 (channels[2]),
    FC ``hidden``, Gaussian layer of size ``latent_dim``; the decoder mirrors it."""

    latent_dim: int = 128
    channels: list[int] = field(default_factory=lambda: [64, 128, 256])
    hidden: int = 512


@dataclass
class OptimConfig:
    lr: float = 1e-3
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8


@dataclass
class TaskConfig:
    """What ``train`` fits. Stage ``source`` is the VAE (L_rec + L_KL); ``target`` the target-domain encoder
    (MSE(z, z*), tasks midi/singing) or DAE (l1 + alpha * MSE(z, z*), task separation); ``both`` runs both."""

    name: str = "midi"  # midi | singing | separation
    stage: str = "both"  # source | target | both
    init_from_source: bool = True  # "+wt": start the target model from the source model's weights
    alpha: float = 1.0  # weight of the latent regulariser MSE(z, z*) in the separation DAE (0: plain DAE)
    dae_output: str = "magnitude"  # separation DAE output: magnitude (the voice's log(1 + |STFT|), as the VAE
    # decodes; the paper's) | mask (logits of a soft mask on the mixture magnitude)
    voice_loss: str = "l2"  # separation: per-bin loss on log(1 + |voice|), summed in the VAE, averaged in the DAE:
    # l2 (squared error / 2) | l1 (the paper's DAE; settles on a near-silent voice at CPU budgets)
    source_ckpt: str | None = None  # source VAE checkpoint for stage target; default: this run's source run
    source_steps: dict[str, int] = field(default_factory=dict)  # stage-1 VAE steps per task name (a task not
    # listed, or 0: trainer.max_steps), e.g. {midi: 2000}


@dataclass
class EvalConfig:
    """The paper's three experiments (``python -m da_vae eval``), written to ``out``."""

    tasks: list[str] = field(default_factory=lambda: list(TASKS))
    out: str = "reports/da_vae"
    midi_latent_dims: list[int] = field(default_factory=lambda: [128, 12])  # Table 2 "Proposed" rows
    midi_augment: bool = True  # Table 2 also has the first size trained with data.augment (when data.augment is off)
    pitch_steps: list[float] = field(default_factory=lambda: [-2.0, -1.0, 0.0, 1.0, 2.0])  # semitones
    stretch_rates: list[float] = field(default_factory=lambda: [0.8, 0.9, 1.0, 1.1, 1.2])  # linear rates
    nonlinear_rate_range: list[float] = field(default_factory=lambda: [0.7, 1.3])  # control rates drawn here
    nonlinear_control_seconds: float = 5.0  # one random control rate every this many seconds of audio
    figure4_tolerance: float = 0.25  # frames: Figure 4's "Proposed below MCEP" allows it this much above MCEP
    max_clips: int = 0  # validation clips used by Task 2 (0: all); Table 3 scores every one
    separation_hop_frames: int = 5  # hop between overlapping 21-frame segments when separating
    separation_outputs: list[str] = field(default_factory=lambda: ["magnitude", "mask"])  # Table 3 DAE outputs
    separation_alphas: list[float] = field(default_factory=lambda: [0.0, 1e-4, 0.1, 1.0, 10.0])  # alpha sweep of
    # "+wt" with the first output, first seed
    separation_steps: int = 0  # training steps of every Table 3 model (0: trainer.max_steps)
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])  # training seeds (run.seed) of every model
    new_inputs_pieces: list[int] = field(default_factory=lambda: [1, 2, 3])  # "On new inputs": piece seeds ([]: off)
    new_inputs_threads: list[int] = field(default_factory=lambda: [1, 2])  # torch threads the default model is
    # trained under for "On new inputs" (1: the eval's run; k: run <run.name>-threads<k>)
    workers: int = 2  # processes that train and score models side by side (0 or 1: this process only)
    examples: int = 2  # validation clips of Task 3 written as audio examples (mixture / estimates / voice)
    wandb: bool = False  # W&B logging for the models eval trains (off for speed; `train` always logs)
    seed: int = 0


# ckpt: the trained target-stage checkpoint `align` / `separate` use
DaVaeConfig = paper_config("DaVaeConfig", __name__, data=DataConfig, model=ModelConfig, optim=OptimConfig,
                           task=TaskConfig, eval=EvalConfig)
