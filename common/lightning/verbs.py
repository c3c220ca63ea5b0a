"""The verbs every paper has, made for its ``VERBS`` list: ``train``, ``eval``, ``models`` and ``plan``.

Each takes the package's own function as a ``"module:function"`` name, imported only when the verb runs, so
importing this module (and ``--help``) never imports torch or Lightning.
"""

from __future__ import annotations

import argparse

from omegaconf import DictConfig

from common.lightning.cli import Verb, resolve

GPU_CLASSES = ("a100", "h100")  # the keys of common.plan.GPUS


def _train(train: str, cfg: DictConfig, args: argparse.Namespace) -> None:
    from pytorch_lightning.utilities import rank_zero_only

    paths = resolve(train)(cfg)
    if rank_zero_only.rank == 0:  # under DDP every rank runs the verb; one prints
        for path in paths if isinstance(paths, (list, tuple)) else [paths]:
            print(f"checkpoint: {path}")


def _evaluate(evaluate: str, cfg: DictConfig, args: argparse.Namespace) -> None:
    print(f"report: {resolve(evaluate)(cfg)}")


def _models(listing: str, cfg: DictConfig, args: argparse.Namespace) -> int:
    from common.lightning.registry import print_models

    return print_models(resolve(listing)(cfg))


def train_verb(help: str, train: str, keys: tuple[tuple[str, str], ...] = ()) -> Verb:
    """``train``: ``train(cfg)`` returns the checkpoint path (or paths), printed once."""
    return Verb("train", help, lambda cfg, args: _train(train, cfg, args), keys=keys)


def eval_verb(help: str, evaluate: str) -> Verb:
    """``eval``: ``evaluate(cfg)`` returns the report's path, printed."""
    return Verb("eval", help, lambda cfg, args: _evaluate(evaluate, cfg, args))


def models_verb(listing: str, help: str = "list the trained models the verbs use by default: where they are, "
                                          "whether they exist, which verbs use them and what makes them") -> Verb:
    """``models``: ``listing(cfg)`` returns the package's ``DefaultModel`` list; exit 1 when one is missing."""
    return Verb("models", help, lambda cfg, args: _models(listing, cfg, args))


def plan_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gpus", type=int, help="GPUs per node (default: trainer.devices of the preset)")
    parser.add_argument("--nodes", type=int, help="nodes (default: trainer.num_nodes)")
    parser.add_argument("--gpu", choices=GPU_CLASSES, default="a100", help="GPU class to project onto")
    parser.add_argument("--json", help="also write the plan to this JSON file")


def plan_verb(plan: str, help: str = "what this preset costs at scale: parameters, FLOPs, memory, loader rate, "
                                     "projected GPU hours, DDP bytes (--gpus N --nodes M --gpu a100|h100)") -> Verb:
    """``plan``: ``plan(cfg, args)`` prints the preset's plan (``common.plan.run_plan``)."""
    return Verb("plan", help, plan, plan_arguments)


__all__ = ["GPU_CLASSES", "eval_verb", "models_verb", "plan_arguments", "plan_verb", "train_verb"]
