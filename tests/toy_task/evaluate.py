"""The toy's experiment: least squares against predicting zero, written through ``common.report`` with a figure,
a claim decided on paired differences and two rows of audio examples (tones of known length and level)."""

import time
from pathlib import Path

import numpy as np
import torch

from common.report import Claim, Clip, Example, Figure, Headline, Report, Section, Table, mean_ci, paired_diff
from tests.toy_task.module import ToyDataModule


def tone(seconds: float, rate: int, hz: float, amplitude: float) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * hz * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


def residual_figure(errors: np.ndarray, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3))
    ax.hist(errors, bins=20)
    ax.set(xlabel="squared error", ylabel="items", title="least squares, validation")
    fig.savefig(path, dpi=80)
    plt.close(fig)


def evaluate(cfg, args):
    started = time.perf_counter()
    data = ToyDataModule(cfg.data)
    x, y = data.train_set.tensors
    w = torch.linalg.lstsq(x, y).solution
    vx, vy = data.val_set.tensors
    lsq = ((vx @ w - vy) ** 2).reshape(-1).numpy()
    zero = (vy**2).reshape(-1).numpy()
    out = Path(cfg.eval.out)
    out.mkdir(parents=True, exist_ok=True)
    residual_figure(lsq, out / "residuals.png")
    rows = [[name, *mean_ci(errors)] for name, errors in (("least squares", lsq), ("zero", zero))]
    diff, low, high, n = paired_diff(lsq, zero)
    report = Report(
        package="tests.toy_task", title="Toy task: least squares",
        summary=f"Validation MSE of a least-squares fit over {len(lsq)} items, 95% bootstrap intervals.",
        sections=[Section("Fit", "Squared error per validation item.",
                          tables=[Table(["model", "val MSE", "low", "high"], rows, caption="mean and 95% interval",
                                        digits=4)],
                          figures=[Figure("residuals.png", "squared errors of least squares")])],
        claims=[Claim("least squares beats predicting zero", high < 0,
                      f"paired difference {diff:.3f} [{low:.3f}, {high:.3f}] over {n} items")],
        headline=[Headline("val MSE, least squares", float(lsq.mean()), None, digits=4)],
        examples=[Example("a quiet and a loud tone", [Clip("input", tone(1.0, 16000, 220, 0.05), 16000, "220 Hz"),
                                                      Clip("output", tone(1.0, 16000, 440, 0.5), 16000, "440 Hz")]),
                  Example("short clip at 22.05 kHz", [Clip("target", tone(0.5, 22050, 330, 0.3), 22050, "330 Hz")])],
        notes="A toy: nothing to compare with a paper.", seconds=time.perf_counter() - started,
        results={"mse": float(lsq.mean()), "paired_diff": [diff, low, high]})
    from common.report import write_report

    write_report(report, out)
