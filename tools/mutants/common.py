"""Plausible one-line bugs in `common` (see tools/mutate.py)."""

from tools.mutate import Mutant

CONVERSIONS = "tests/common/test_conversions.py"
STATS = "tests/report/test_stats.py"

MUTANTS = [
    Mutant("clip-ignored", "common/lightning/trainer.py", "gradient_clip_val=tcfg.gradient_clip_val,",
           "gradient_clip_val=None,", "`trainer.gradient_clip_val` ignored by the Trainer factory",
           ("tests/lightning/test_config.py",)),
    Mutant("stamp-package", "common/lightning/checkpoint.py", 'checkpoint[STAMP] = {"package": self.package,',
           'checkpoint[STAMP] = {"package": type(pl_module).__module__.split(".")[0],',
           "checkpoints stamped with the module's top-level package instead of the training package",
           ("tests/lightning/test_checkpoint.py",)),
    Mutant("output-overwrites-input", "common/checks.py",
           "if source.exists() and path.exists() and os.path.samefile(source, path):",
           "if source.exists() and path.exists() and source == path:",
           "an output path that reaches the input through a link overwrites it", ("tests/common/test_checks.py",)),
    Mutant("pitch-all-frames", "common/pitch.py", "both = (ref_v > 0) & (est_v > 0)", "both = ref_v > 0",
           "pitch accuracy scored on every reference-voiced frame (unvoiced output counted as wrong pitch)",
           ("tests/common/test_pitch.py",)),
    # spectral: windows, frames, bins
    Mutant("window-symmetric", "common/spectral.py", "get_window(window, win_length, fftbins=True)",
           "get_window(window, win_length, fftbins=False)", "symmetric instead of periodic STFT windows",
           ("tests/common/test_spectral.py",)),
    Mutant("chroma-tuning-dropped", "common/filterbanks.py",
           "filterbank = chroma_filterbank(sample_rate, n_fft, n_chroma, tuning, x.device, x.dtype)",
           "filterbank = chroma_filterbank(sample_rate, n_fft, n_chroma, 0.0, x.device, x.dtype)",
           "chroma ignores its tuning argument (every tone read at A440)", (CONVERSIONS,)),
    Mutant("onehot-keeps-silence", "common/filterbanks.py", "return onehot * (peak > threshold)", "return onehot",
           "one-hot chroma marks a pitch class on silent frames", ("tests/common/test_filterbanks.py",)),
    # mu-law
    Mutant("mulaw-floor", "common/mulaw.py", "return ((companded + 1) / 2 * mu + 0.5).to(torch.int64)",
           "return ((companded + 1) / 2 * mu).to(torch.int64)", "mu-law codes truncated instead of rounded",
           ("tests/common/test_mulaw.py",)),
    # DTW and alignment
    Mutant("cost-not-squared", "common/dtw.py", 'return distance.square() if metric == "sqeuclidean" else distance',
           "return distance", "the squared-Euclidean cost is the plain distance", ("tests/common/test_dtw.py",)),
    Mutant("path-error-one-sided", "common/align.py", "return float((p_to_q + q_to_p) / (len(p) + len(q)))",
           "return float(2 * p_to_q / (len(p) + len(q)))", "GTW error counts one direction only",
           ("tests/common/test_align.py",)),
    Mutant("pitch-shift-sign", "common/align.py", "librosa.effects.pitch_shift(y, sr=sr, n_steps=n_steps)",
           "librosa.effects.pitch_shift(y, sr=sr, n_steps=-n_steps)", "a pitch shift goes the other way",
           (CONVERSIONS,)),
    Mutant("stretch-rate-inverted", "common/align.py", "positions = np.minimum(np.arange(count) * rates[0], last)",
           "positions = np.minimum(np.arange(count) / rates[0], last)",
           "a linear stretch's path has slope 1 / rate", ("tests/common/test_align.py",)),
    # Griffin-Lim and metrics
    Mutant("griffinlim-momentum-sign", "common/griffinlim.py", "previous.lerp_(rebuilt, 1 + momentum)",
           "previous.lerp_(rebuilt, 1 - momentum)", "fast Griffin-Lim's momentum applied backwards",
           ("tests/common/test_griffinlim.py",)),
    Mutant("nsdr-sign", "common/metrics.py", 'scores["NSDR"] = sdr - mir_eval', 'scores["NSDR"] = -sdr + 2 * mir_eval',
           "NSDR measured from the wrong side", ("tests/common/test_metrics.py",)),
    Mutant("lsd-sum", "common/metrics.py", "per_frame = diff.square().mean(dim=-2).sqrt()",
           "per_frame = diff.square().sum(dim=-2).sqrt()", "LSD sums over bins instead of averaging",
           ("tests/common/test_metrics.py",)),
    # the statistics every claim rests on
    Mutant("paired-diff-flipped", "common/report/stats.py", "mean, low, high = mean_ci(a - b, level, resamples, seed)",
           "mean, low, high = mean_ci(b - a, level, resamples, seed)", "paired differences taken as b - a",
           (STATS,)),
    Mutant("bootstrap-tails", "common/report/stats.py", "low, high = np.quantile(means, [tail, 1.0 - tail])",
           "low, high = np.quantile(means, [tail / 2, 1.0 - tail / 2])",
           "the 95% bootstrap interval is a 97.5% one", (STATS,)),
    Mutant("tost-margin-sign", "common/report/stats.py", "p_above = float(scipy.stats.t.sf((mean + margin) / se, dof))",
           "p_above = float(scipy.stats.t.sf((mean - margin) / se, dof))",
           "TOST's lower test against +margin instead of -margin", (STATS,)),
    # lightning: resume and reuse
    Mutant("resume-previous-ignored", "common/lightning/checkpoint.py", "        return str(previous)\n",
           "        return str(last)\n", "a truncated last.ckpt is resumed instead of the one before it",
           ("tests/faults/test_faults.py::test_truncated_last_checkpoint_falls_back_to_the_one_before",)),
    Mutant("wandb-env-left-unset", "common/lightning/trainer.py",
           '        os.environ["WANDB_MODE"] = wandb_mode(cfg)\n',
           "", "an offline run leaves W&B's process settings online: its telemetry makes a DNS query",
           ("tests/faults/test_faults.py::test_offline_training_sends_nothing_over_the_network",)),
    Mutant("reuse-ignores-seed", "common/lightning/reuse.py", '"model", "optim", "run.seed", ',
           '"model", "optim", ', "an eval reuses a run trained with another seed", ("tests/common/test_reuse.py",)),
]
