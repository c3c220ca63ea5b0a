"""The typed configuration of ``python -m music_translation`` (see ``configs/default.yaml`` and
``configs/paper.yaml``): data, model, optim, augment, translate and eval sections on top of the shared
run/trainer/logger/ckpt_path keys."""

from __future__ import annotations

from dataclasses import dataclass, field

from common.lightning import paper_config

CORPORA = ("tones", "domains", "none")  # synthetic corpus built under data.root by `prepare` (none: your folders)


@dataclass
class DataConfig:
    """Domains are folders ``<root>/<domain>/`` of audio files (any format and rate). Files under a ``val/``
    or ``test/`` sub-folder belong to that split, every other file to training. ``prepare`` converts them
    once to ``sample_rate`` mono 8-bit mu-law arrays under ``cache`` (memory-mapped when training)."""

    root: str = "data/synthetic/translation_tones"
    corpus: str = "tones"  # tones | domains | none
    corpus_size: str = "default"  # tiny | default | N (works or melodies per domain)
    domains: list[str] = field(default_factory=lambda: ["piano", "harpsichord", "strings"])
    unseen_domains: list[str] = field(default_factory=lambda: ["whistle", "flute"])  # test-only domains
    cache: str = "data/cache/music_translation"
    sample_rate: int = 16000  # Hz
    segment_seconds: float = 1.0  # training segment length
    batch_size: int = 16  # segments per batch, all from one domain
    batches_per_epoch: int = 1000  # an "epoch" of the endless random-segment stream
    val_segments: int = 16  # fixed validation segments per domain
    num_workers: int = 0


@dataclass
class ModelConfig:
    """Encoder: ``encoder_blocks x encoder_layers`` non-causal residual layers, ``encoder_channels`` wide,
    1x1 to ``latent_channels``, average pooling over ``pool`` samples. Decoders: ``decoder_blocks x
    decoder_layers`` gated causal layers (dilations 1..2^(layers-1)) conditioned on the upsampled latent.
    Confusion net: three 1-D convolutions (ELU between them), the last projecting to the k domains,
    averaged over time."""

    encoder_blocks: int = 3
    encoder_layers: int = 10
    encoder_channels: int = 128
    encoder_kernel: int = 3
    latent_channels: int = 64
    pool: int = 800  # samples per latent frame (50 ms at 16 kHz)
    decoder_blocks: int = 4
    decoder_layers: int = 10  # paper: 4 x 10 (receptive field 4,093); reference code: 4 x 14
    residual_channels: int = 128
    skip_channels: int = 128
    confusion_channels: int = 100
    confusion_kernel: int = 1
    n_classes: int = 256  # 8-bit mu-law


@dataclass
class OptimConfig:
    """Adam at ``lr``, multiplied by ``lr_decay`` every ``decay_every_steps`` training steps (batches per rank,
    so the schedule is the same on any number of GPUs; the paper's "every 10,000 samples" read as steps).
    ``confusion_weight`` is the paper's lambda; gradients are clipped by value at ``clip_value``
    (the reference code's clip; 0 turns it off)."""

    lr: float = 1e-3
    lr_decay: float = 0.98
    decay_every_steps: int = 10000
    confusion_weight: float = 1e-2
    clip_value: float = 1.0


@dataclass
class AugmentConfig:
    """Local pitch modulation of the encoder's input: a span of ``min_seconds..max_seconds`` shifted by
    U(-max_semitones, max_semitones); batched on the training device."""

    enabled: bool = True
    min_seconds: float = 0.25
    max_seconds: float = 0.5
    max_semitones: float = 0.5
    window_ms: float = 30.0  # delay-line grain of the pitch shifter
    fade_ms: float = 5.0  # cross-fade into and out of the modulated span


@dataclass
class TranslateConfig:
    """Autoregressive generation: ``chunk_seconds`` per generator call (state carried across chunks);
    ``pieces`` > 1 splits a file into that many pieces generated as one batch, each started ``warmup_seconds``
    early on the previous piece's latent; ``backend`` auto uses the Triton kernel on CUDA."""

    chunk_seconds: float = 1.0
    pieces: int = 1
    warmup_seconds: float = 0.25
    temperature: float = 1.0
    seed: int = 0
    backend: str = "auto"  # auto | torch | triton
    blend_seconds: float = 1.5  # latent cross-fade of `blend`
    example_seconds: float = 0.5  # validation audio examples (input, reconstruction) per domain; 0: none


@dataclass
class EvalConfig:
    """The paper's automatic experiments (``python -m music_translation eval``), written to ``out``: one model per
    training seed and thread setting (``seeds`` x ``threads``; the float summation order differs between thread
    settings as between machines), scored on the same test segments and held-out inputs."""

    out: str = "reports/music_translation"
    target: str = "piano"  # the decoder every Table 2 translation goes to
    segments: int = 20  # test segments per source
    segment_seconds: float = 5.0
    lineup_sets: int = 12  # per model
    lineup_seconds: float = 2.0  # clips of the automatic lineup
    calibration_segments: int = 6  # validation segments per domain calibrating the lineup picker
    classifier_steps: int = 300
    nsynth_root: str = "data/synthetic"  # the NSynth stand-in is built here (common.corpora)
    nsynth_size: str = "5"  # instruments of the stand-in (5 holds the four below)
    nsynth_pairs: list[str] = field(default_factory=lambda: ["keyboard_acoustic_000:flute_acoustic_000",
                                                             "brass_acoustic_000:string_acoustic_000"])
    examples: int = 2
    seed: int = 0  # picks the test segments (the same for every model)
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])  # a model per training seed (ignored with ckpt=)
    threads: list[int] = field(default_factory=lambda: [1])  # ... and per torch thread setting
    heldout_seeds: list[int] = field(default_factory=lambda: [11, 12])  # melodies of the "On new inputs" section
    heldout_sources: list[str] = field(default_factory=lambda: ["violin", "flute", "clarinet", "oboe"])
    workers: int = 2  # one-thread models trained and scored in parallel processes (others alone after them)


# ckpt: the trained checkpoint translate / encode / blend / domains / eval use (default: this run's)
MusicTranslationConfig = paper_config("MusicTranslationConfig", __name__, data=DataConfig, model=ModelConfig,
                                      optim=OptimConfig, augment=AugmentConfig, translate=TranslateConfig,
                                      eval=EvalConfig)
