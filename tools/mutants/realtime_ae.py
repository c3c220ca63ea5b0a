"""Plausible one-line bugs in `realtime_ae` (see tools/mutate.py), each with the tests that should catch it."""

from tools.mutate import Mutant

T = "tests/realtime_ae/"
CHECKS, VERBS, DATA, SCALE = T + "test_checks.py", T + "test_verbs.py", T + "test_data.py", T + "test_scale.py"

MUTANTS = [
    Mutant("seed-not-given", "realtime_ae/experiments.py", "    out.run.seed = seed\n", "",
           "each eval seed's run not given its seed (all \"seeds\" one model)", (CHECKS,)),
    Mutant("threads-not-given", "realtime_ae/experiments.py", "    out.threads = threads\n", "",
           "the threads=2 runs of the synth model trained on the config's thread count", (CHECKS,)),
    Mutant("synth-loss-not-applied", "realtime_ae/experiments.py",
           "        out.optim.log_weight = cfg.eval.default_log_weight\n", "",
           "the synthesizer's model trained without its log-magnitude term", (CHECKS,)),
    Mutant("seed-not-applied", "realtime_ae/training.py", "    pl.seed_everything(cfg.run.seed, workers=True)",
           "    pl.seed_everything(0, workers=True)", "`run.seed` not applied to the initial weights", (CHECKS,)),
    Mutant("init-shared-stream", "realtime_ae/models.py", "            with torch.no_grad():\n"
           "                m.weight.uniform_(-bound, bound, generator=generator)\n",
           "            nn.init.xavier_uniform_(m.weight)\n", "Glorot weights drawn from one stream: variants of "
           "one seed no longer start their shared layers equal", (T + "test_models.py",)),
    Mutant("val-output-is-input", "realtime_ae/module.py", '("output", output)',
           '("output", frames * peaks[:, None])', "the validation \"output\" example written from the input "
           "magnitudes", (CHECKS,)),
    Mutant("l2-ignored", "realtime_ae/module.py", '"l2": self.hparams.optim["l2"] * weight_penalty',
           '"l2": 0.0 * weight_penalty', "`optim.l2` ignored: no weight penalty", (CHECKS,)),
    Mutant("log-floor-ignored", "realtime_ae/module.py", 'floor = self.hparams.optim.get("log_floor", 1e-3)',
           "floor = 1e-3", "`optim.log_floor` ignored", (CHECKS,)),
    Mutant("no-limiter", "realtime_ae/engine.py", "        self._limit_block(out)\n", "",
           "the engine's limiter never runs (the output clips at high levels)", (CHECKS,)),
    Mutant("one-noise-table", "realtime_ae/engine.py", "            self._spectrum *= b[self.frame_index % rows_b]\n",
           "", "noise phase from one 31-row table (a held note repeats every 0.7 s)", (CHECKS,)),
    Mutant("advance-bin-frequency", "realtime_ae/engine.py", "np.arange(self.bins) * hop_length / n_fft",
           "np.arange(self.bins) * hop_length / (n_fft // 2)", "the coherent phase advances each bin at twice its "
           "frequency", (CHECKS,)),
    Mutant("salience-pitch-offset", "realtime_ae/features.py",
           ".argmax(-1) + LOWEST_PITCH", ".argmax(-1) + LOWEST_PITCH + 1",
           "salient pitch (and chroma label) a semitone off: an off-by-one in the band's MIDI number", (DATA,)),
    Mutant("salience-no-harmonics", "realtime_ae/features.py", "out[row] += HARMONIC_DECAY ** (h - 1) * lobe",
           "out[row] += (h == 1) * lobe", "chroma from the fundamental's band alone (third harmonics win)", (DATA,)),
    Mutant("lsd-against-clip-mean", "realtime_ae/newinputs.py", "    reference = mags(audio)\n",
           "    reference = mags(mean)\n", "resynth LSD scored against the clip-mean spectrum, not the input",
           (CHECKS,)),
    Mutant("judge-first-clip", "realtime_ae/newinputs.py", "chroma[:, i * per + 4: (i + 1) * per - 4]",
           "chroma[:, 4: per - 4]", "every render judged on the first render's chroma", (CHECKS,)),
    Mutant("lower-wrong-end", "realtime_ae/claims.py", "return bool(hi < 0), (", "return bool(lo < 0), (",
           "an ordering decided on the lower end of its interval (holds for identical models)", (CHECKS,)),
    Mutant("relative-flipped", "realtime_ae/claims.py",
           "float(mse[a, k].mean()) / float(mse[b, k].mean()) - 1.0",
           "float(mse[b, k].mean()) / float(mse[a, k].mean()) - 1.0",
           "the paired difference flipped (b - a)", (CHECKS,)),
    Mutant("non-inferiority-loose", "realtime_ae/claims.py", 'verdict = "holds" if test.above else',
           'verdict = "holds" if test.high > -margin else',
           "\"the skip does not help\" holds unless contradicted", (CHECKS,)),
    Mutant("power-no-sqrt-n", "realtime_ae/claims.py", "d * np.sqrt(n) / sd) - power", "d / sd) - power",
           "the detectable effect ignores the number of seeds", (CHECKS,)),
    Mutant("ranks-same-batches", "realtime_ae/data.py", "order[self.rank: self.n", "order[0: self.n",
           "every DDP rank draws rank 0's batches", (SCALE,)),
    Mutant("resume-restarts-epoch", "realtime_ae/data.py", 'return {"epoch": self.epoch, "yielded": self.yielded}',
           'return {"epoch": self.epoch, "yielded": 0}', "a run resumed mid-epoch starts that epoch's batches over",
           (T + "test_resume.py",)),
    Mutant("eval-reuses-stopped-run", "realtime_ae/experiments.py", "if not finished(c)]",
           "if not training.trained_checkpoint(c)]", "the eval takes a run killed after a periodic checkpoint for "
           "a trained model", (T + "test_resume.py",)),
    Mutant("render-z-unchecked", "realtime_ae/synth.py", "((z < 0) | (z > 1)).any(1)", "(z < 0).any(1)",
           "render accepts z = 100 on a sigmoid bottleneck", (VERBS,)),
    Mutant("resynth-overwrites", "realtime_ae/verbs.py", "inputs=[source])", "inputs=[])",
           "resynth --out equal to the input overwrites it", (VERBS,)),
    Mutant("label-time-in-samples", "realtime_ae/labels.py",
           'scheduled_pitch(name, numbers * ix["hop_length"] / ix["sample_rate"]',
           'scheduled_pitch(name, numbers / ix["sample_rate"]', "label truth read at frame numbers taken as "
           "samples", (CHECKS,)),
    # issue 28: each bad-input fix reverted
    Mutant("render-binary-traceback", "realtime_ae/synth.py", "except (UnicodeDecodeError, csv.Error) as err:",
           "except csv.Error as err:", "render of a binary file as CSV is a UnicodeDecodeError traceback",
           (VERBS + "::test_render_refuses_a_bad_trajectory_in_one_line",)),
    Mutant("negative-time-accepted", "realtime_ae/synth.py",
           '        if rows[-1]["time"] < 0:\n'
           '            raise InputError(f"{where}: time={rows[-1][\'time\']:g} is negative; times are seconds '
           'from 0")\n',
           "", "a trajectory row with a negative time is accepted",
           (VERBS + "::test_render_refuses_a_bad_trajectory_in_one_line",)),
    Mutant("nan-latent-accepted", "realtime_ae/synth.py",
           "    if not math.isfinite(value):\n"
           '        raise InputError(f"{where}: {column}={row[column]} is not a finite number; give a value in '
           'the latent range")\n', "", "a NaN (or inf) value in a trajectory CSV is accepted",
           (VERBS + "::test_render_refuses_a_bad_trajectory_in_one_line",)),
    Mutant("extra-z-ignored", "realtime_ae/synth.py", 'extra = [c for c in header if c not in (*needed, "volume")]',
           "extra = []", "render ignores z columns beyond the decoder's bottleneck",
           (VERBS + "::test_render_refuses_a_bad_trajectory_in_one_line",)),
    Mutant("synth-keys-unchecked", "realtime_ae/verbs.py",
           '    check_synth(cfg.synth)\n    out = checks.output_file(args.out, "--out", (".wav", ".flac", ".ogg"), '
           'inputs=[args.trajectory])',
           '    out = checks.output_file(args.out, "--out", (".wav", ".flac", ".ogg"), inputs=[args.trajectory])',
           "render does not check the synth keys before the work (a bad phase is a traceback in the engine)",
           (VERBS + "::test_bad_synth_keys_are_one_line_before_any_work",)),
]
