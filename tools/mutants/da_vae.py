"""Plausible one-line bugs in `da_vae` (see tools/mutate.py): wrong references, ignored keys and seeds, flipped
claim directions, swapped example clips, off-by-one frame grids."""

from tools.mutate import Mutant

SCORES = "tests/da_vae/test_scores.py"
KEYS = "tests/da_vae/test_keys.py"
LOSSES = "tests/da_vae/test_losses.py"
CLAIMS = "tests/da_vae/test_claims.py"
NEW = "tests/da_vae/test_new_inputs.py"

MUTANTS = [
    # every score against the right reference
    Mutant("table3-reference-mixture", "da_vae/table3.py", "SourceScorer(np.stack([voice, accompaniment]), source=0)",
           "SourceScorer(np.stack([mixture, accompaniment]), source=0)",
           "Table 3's bss_eval scores the estimate against the mixture instead of the true voice", (SCORES,)),
    Mutant("table3-nsdr-flipped", "da_vae/table3.py", '"NSDR": scores["SDR"] - mixture_sdr,',
           '"NSDR": mixture_sdr - scores["SDR"],', "NSDR = SDR(mixture) - SDR(estimate)", (SCORES,)),
    Mutant("task2-zscore-latent-axis", "da_vae/figure4.py",
           "return (latents - latents.mean(0)) / (latents.std(0) + 1e-8)",
           "return (latents - latents.mean(1, keepdims=True)) / (latents.std(1, keepdims=True) + 1e-8)",
           "Task 2 latents z-scored over the latent axis instead of over time", (SCORES,)),
    Mutant("task2-path-transposed", "da_vae/figure4.py",
           'path_error(inference.dtw_path(original, distorted, "sqeuclidean"), truth)',
           'path_error(inference.dtw_path(distorted, original, "sqeuclidean"), truth)',
           "Figure 4's e compares a transposed DTW path with the true path", (SCORES,)),
    Mutant("stage2-z-of-target", "da_vae/module.py",
           "loss = F.mse_loss(self.encoder(target)[0], self.source_latent(source))",
           "loss = F.mse_loss(self.encoder(target)[0], self.source_latent(target))",
           "stage 2 regresses on the source encoder's z of the target segment, not of the parallel source", (KEYS,)),
    Mutant("separation-voice-unscaled", "da_vae/data.py", "return (features.magnitude(voice / scale, n_fft, hop),",
           "return (features.magnitude(voice, n_fft, hop),",
           "the separation voice feature is not scaled like the z-scored mixture", (SCORES,)),
    Mutant("separate-scale-lost", "da_vae/inference.py", "return voice.numpy() * scale",
           "return voice.numpy()", "`separate` returns the voice at the z-scored mixture's scale", (SCORES,)),
    # every loss weight and schedule key changes training
    Mutant("alpha-ignored", "da_vae/module.py", 'return {"loss": rec + self.hparams.alpha * mse,',
           'return {"loss": rec + mse,', "`task.alpha` ignored: the DAE regulariser always has weight 1", (LOSSES,)),
    Mutant("kl-dropped", "da_vae/module.py", 'return {"loss": rec + kl, "rec": rec, "kl": kl}',
           'return {"loss": rec, "rec": rec, "kl": kl}', "the VAE trains without its KL term", (LOSSES,)),
    Mutant("wt-always", "da_vae/module.py", "        if self.hparams.init_from_source:\n",
           "        if True:\n", "`task.init_from_source=false` still copies the source weights (+wt always)",
           (LOSSES,)),
    Mutant("lr-ignored", "da_vae/module.py", 'lr=o["lr"], betas=tuple(o["betas"])', 'lr=1e-3, betas=tuple(o["betas"])',
           "`optim.lr` ignored (Adam at the paper's 1e-3 whatever the config)", (KEYS,)),
    Mutant("separation-steps-ignored", "da_vae/table3.py", "steps = cfg.eval.separation_steps or cfg.trainer.max_steps",
           "steps = cfg.trainer.max_steps", "`eval.separation_steps` ignored: Table 3 models train max_steps",
           ("tests/da_vae/test_eval.py",)),
    # every seed reaches the weights
    Mutant("table3-seed-dropped", "da_vae/table3.py", "cfg.run.seed, cfg.trainer.max_steps = seed, steps",
           "cfg.trainer.max_steps = steps", "each Table 3 seed's job not given its seed (all seeds one model)",
           (KEYS,)),
    Mutant("alignment-seed-dropped", "da_vae/experiments.py", "        job_cfg.run.seed = seed\n", "",
           "each Table 2 / Figure 4 seed's job not given its seed", (KEYS,)),
    Mutant("init-seed-fixed", "da_vae/training.py", "pl.seed_everything(cfg.run.seed, workers=True)  #",
           "pl.seed_everything(0, workers=True)  #", "`run.seed` not applied to the initial weights", (KEYS,)),
    # every example clip is the tensor its caption names
    Mutant("example-mixture-is-voice", "da_vae/table3.py", 'row["audio"] |= {"mixture": mixture, "voice": voice}',
           'row["audio"] |= {"mixture": voice, "voice": voice}', "the report's mixture clip is the true voice",
           (SCORES,)),
    Mutant("example-caption-swap", "da_vae/table3.py", 'Clip("mixture", audio["mixture"], sample_rate, "input")',
           'Clip("mixture", audio["voice"], sample_rate, "input")', "the example row's mixture plays the voice",
           (SCORES,)),
    Mutant("image-voice-mixture-swapped", "da_vae/module.py",
           "strips = [segment_strip(x) for x in (voice_representation(raw_source), estimate,",
           "strips = [segment_strip(x) for x in (voice_representation(mixture), estimate,",
           "the W&B 'mixture_estimate_voice' image shows the mixture where the voice belongs", (SCORES,)),
    # frame / bin conversions
    Mutant("frame-count-off-by-one", "da_vae/features.py", "return 1 + samples // hop", "return samples // hop",
           "the centred frame grid loses its last frame", (SCORES,)),
    Mutant("roll-frames-late", "da_vae/features.py", "(np.arange(n_frames + 1) - 0.5) * hop_seconds",
           "(np.arange(n_frames + 1) + 0.5) * hop_seconds", "the piano roll is read half a frame late", (SCORES,)),
    # every claim's direction can fail
    Mutant("table3-claim-on-mean", "da_vae/table3.py", "all(p[3] > 0 for p in pairs)", "all(p[2] > 0 for p in pairs)",
           "a Table 3 ordering holds when the mean difference is positive, whatever its interval", (CLAIMS,)),
    Mutant("ordering-on-mean", "da_vae/claims.py", "    return high < 0, f\"{format_ci(mean, low, high)}",
           "    return mean < 0, f\"{format_ci(mean, low, high)}",
           "a Table 2 / Figure 4 ordering holds when the mean difference is negative, whatever its interval",
           (CLAIMS,)),
    Mutant("figure4-tolerance-on-mean", "da_vae/claims.py", "if d[2] >= tolerance]", "if d[0] >= tolerance]",
           "Figure 4's 'within the tolerance' judged on the mean difference, not its upper bound", (CLAIMS,)),
    Mutant("figure4-overall-dropped", "da_vae/claims.py", "overall and not worse, evidence", "not worse, evidence",
           "Figure 4 holds when Proposed is merely not worse than MCEP (an identity passes)", (CLAIMS,)),
    # "On new inputs"
    Mutant("new-inputs-truth-unwarped", "da_vae/new_inputs.py", "np.round(np.interp(frames * hop_s, *knots) / hop_s)",
           "np.round(frames * hop_s / hop_s)", "the true path ignores the tempo map (the score's timing scores 0)",
           (NEW,)),
    Mutant("new-inputs-onsets-of-score", "da_vae/new_inputs.py", "sorted(a for a, _, _ in performance.notes)",
           "sorted(a for a, _, _ in score.notes)", "re-timed onsets compared with the score's, not the performed ones",
           (NEW,)),
    Mutant("new-inputs-threads-ignored", "da_vae/new_inputs.py", "    with intra_op_threads(threads):\n",
           "    with intra_op_threads(1):\n", "every thread setting's model trains on one thread", (NEW,)),
    Mutant("new-inputs-threads-unrecorded", "da_vae/new_inputs.py",
           "    run_cfg.threads = threads  # the run's config.yaml records the thread count it trained on\n", "",
           "a thread setting's run records the preset's thread count, not the one it trained on", (NEW,)),
]
