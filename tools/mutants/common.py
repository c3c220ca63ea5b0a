"""Plausible one-line bugs in `common` (see tools/mutate.py)."""

from tools.mutate import Mutant

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
]
