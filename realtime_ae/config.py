"""The typed configuration of ``python -m realtime_ae``: data, model, optim, synth and eval sections on top
of the shared run/trainer/logger/ckpt_path keys (see ``configs/default.yaml`` and ``configs/paper.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from common.lightning import paper_config

CORPORA = ("one_octave", "five_octave", "violin")  # sub-directories of the synthetic ``scales`` corpus
AUGMENTATIONS = ("none", "diff", "chroma")  # appended to the input frame: nothing, d/df (2048), one-hot chroma (12)
ACTIVATIONS = ("sigmoid", "lrelu")  # bottleneck activation


@dataclass
class DataConfig:
    """Frames of a folder of audio. ``root`` holds ``<corpus>/{train,val,test}/*.wav`` (clip-level splits); a
    folder without those sub-directories is split by file (``val_fraction``/``test_fraction``). With
    ``synthetic`` the ``scales`` stand-in corpus is built under ``root`` first."""

    root: str = "data/synthetic"
    synthetic: bool = True
    corpus_size: str = "default"  # tiny | default | N patches of the synthetic scales corpus
    corpus: str = "one_octave"  # one_octave | five_octave | violin (synthetic), or a folder name under root
    cache: str = "data/cache/realtime_ae"
    sample_rate: int = 44100
    n_fft: int = 4096  # 2049 bins
    hop_length: int = 1024  # 75% overlap
    silence_db: float = -70.0  # frames whose peak is this far below a full-scale sine's are dropped (counted)
    val_fraction: float = 0.1  # only for folders without train/val/test sub-directories
    test_fraction: float = 0.1
    split_seed: int = 0
    batch_size: int = 200
    num_workers: int = 0


@dataclass
class ModelConfig:
    """Geometric dense AE: input -> ``hidden`` (LReLU 0.1) -> ``bottleneck`` (``activation``); the decoder
    mirrors it (with the one-hot chroma concatenated to the latent when ``skip``), ReLU output of 2049 bins."""

    hidden: list[int] = field(default_factory=lambda: [1024, 512, 256, 128, 64, 32, 16])
    bottleneck: int = 8  # 2, 3 or 8 in the paper
    activation: str = "sigmoid"  # sigmoid | lrelu
    augmentation: str = "chroma"  # none | diff | chroma
    skip: bool = True  # chroma skip connection into the bottleneck
    variational: bool = False  # beta-VAE: Gaussian latent, no bottleneck activation
    init: str = "glorot"  # glorot (Keras's Dense default, the reference's) | torch (PyTorch's Linear default)
    beta: float = 1.0  # KL weight of the beta-VAE (KL per frame divided by the 2049 bins, like the MSE)


@dataclass
class OptimConfig:
    lr: float = 5e-4
    l2: float = 1e-7  # penalty on the sum of squared weights (kernels, not biases), added to the MSE
    # weight of a log-magnitude term added to the MSE: mean over bins of (log(x_hat + log_floor) - log(x + log_floor))^2
    # (0 in the paper; the synth model's, eval.default_log_weight, makes it render the quiet bins between partials)
    log_weight: float = 0.0
    log_floor: float = 1e-3  # -60 dB of a frame's peak


@dataclass
class SynthConfig:
    """The real-time synthesizer (``play``, ``render``, ``resynth``)."""

    decoder: str | None = None  # an exported decoder (.npz, .pt TorchScript or .onnx); overrides ckpt for the synth
    # which export the engine runs: half (numpy runtime, float16 weights summed in float32: half the bytes a decode
    # reads, 2e-4 of the peak off) | numpy (float32, exact) | int8 (ONNX with int8 weights: 4x less to read, a few %
    # of the peak off) | torchscript | onnx
    backend: str = "half"
    phase: str = "noise"  # noise (stored white-noise phase, as the paper) | advance (coherent bin-centre phase)
    smoothing_ms: float = 40.0  # time constant of the latent/volume smoothing
    # blocks whose frames are decoded in one call (one read of the weights per call): a slider move waits up to
    # this - 1 blocks (23.2 ms each) longer; note changes do not. With blocks paced as the audio callback runs, 2
    # costs 1.35-1.5x less CPU per moving block than 1 (bench/realtime.py)
    frames_per_decode: int = 2
    volume: float = 0.5
    latent_scale: float = 1.0  # resynth: multiply the encoded latents by this before decoding
    seed: int = 0  # noise phase seed


@dataclass
class EvalConfig:
    """The paper's Tables I-V (``python -m realtime_ae eval``), written to ``out``."""

    out: str = "reports/realtime_ae"
    tables: list[str] = field(default_factory=lambda: ["I", "II", "III", "IV", "V"])
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4])  # of every table model (one thread each)
    # the synthesizer's default model (experiments.SYNTH), trained per seed and per torch thread setting: seed 0 on
    # one thread is what render/resynth/play/export use; the others are the "On new inputs" rows
    default_seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    threads: list[int] = field(default_factory=lambda: [1, 2])
    default_epochs: int = 16
    default_log_weight: float = 0.01
    heldout_programs: list[int] = field(default_factory=lambda: [0, 48, 73])  # GM programs of the held-out soundfont
    mesh: list[int] = field(default_factory=lambda: [350, 50, 5])  # Table V mesh length for 2-D, 3-D, 8-D
    examples: int = 1  # test clips per corpus rendered as audio examples
    # "the skip does not help" (Table II) holds when the skip is shown not to lower the MSE by more than this
    # fraction of the no-skip MSE (one-sided t-test over seeds, the lower side of a TOST); the paper's Table IV skip
    # gain on one octave is 5.4%, its Table II skip costs are +2.3% and +3.4%
    skip_margin: float = 0.05
    workers: int = 2  # models trained in parallel processes (one torch thread each)
    wandb: bool = False  # W&B logging for the models eval trains (off for speed; `train` always logs)


# ckpt: the trained last.ckpt the synth and export use (default: this run's, else the eval's synth model)
RealtimeAeConfig = paper_config("RealtimeAeConfig", __name__, data=DataConfig, model=ModelConfig, optim=OptimConfig,
                                synth=SynthConfig, eval=EvalConfig)
