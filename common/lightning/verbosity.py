"""Quiet by default: Lightning's banners, tips and notices the user cannot act on are hidden unless
``log_level`` (``-v`` on the command line) asks for them; our own packages keep logging at INFO."""

from __future__ import annotations

import logging
import warnings

from common.errors import ConfigError

LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"  # our log lines, in the CLI and its worker processes
LEVELS = {"warning": logging.WARNING, "info": logging.INFO, "debug": logging.DEBUG}
THIRD_PARTY = ("pytorch_lightning", "lightning_fabric", "lightning", "wandb", "numba", "matplotlib")
# warnings raised inside libraries that a user of this project cannot act on
NOISE = (
    r".*isinstance\(treespec, LeafSpec\)` is deprecated.*",
    r".*does not have many workers which may be a bottleneck.*",
    r".*The number of training batches .* is smaller than the logging interval.*",
    r"`weights_only` was not set.*",
    r".*'set_vital' is deprecated.*",
    r".*Checkpoint directory .* exists and is not empty.*",
    # our checkpoints hold the state after a step on purpose: a resumed run continues at the next step
    r".*Using ModelCheckpoint with manual optimization and every_n_train_steps.*",
)


class ThirdPartyBelow(logging.Filter):
    """Drops third-party records below ``level``; on the root handlers, because a library imported later (the
    verbs import Lightning lazily) sets its own logger's level back to INFO."""

    def __init__(self, level: int):
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.level or record.name.split(".")[0] not in THIRD_PARTY


def configure_logging(level: str) -> None:
    """Set third-party loggers to ``level`` (warning | info | debug) and, below debug, ignore library noise."""
    if level not in LEVELS:
        raise ConfigError(f"log_level={level!r} is not a level: use one of {', '.join(LEVELS)}")
    for name in THIRD_PARTY:
        logging.getLogger(name).setLevel(LEVELS[level])
    for handler in logging.getLogger().handlers:
        for old in [f for f in handler.filters if isinstance(f, ThirdPartyBelow)]:
            handler.removeFilter(old)
        handler.addFilter(ThirdPartyBelow(LEVELS[level]))
    if level != "debug":
        for message in NOISE:
            warnings.filterwarnings("ignore", message=message)


def is_verbose(level: str) -> bool:
    return LEVELS.get(level, logging.WARNING) <= logging.INFO
