"""PNG plots of the scaling results (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt

from benchmarks.compute import Measurement
from benchmarks.scaling import ForestMeasurement

# Files only, never a window: the benchmarks run on servers and in CI without a display.
matplotlib.use("Agg")

STYLES = {"service": "o-", "tuned": "s--", "inplace_predict": "^-.", "onnx": "D-"}


def plot_batch_scaling(measurements: Sequence[Measurement], out: Path) -> Path:
    """Per-row cost against batch size, one panel per model, one line per path."""
    models = list(dict.fromkeys(m.model for m in measurements))
    figure, axes = plt.subplots(1, len(models), figsize=(5 * len(models), 4.2), squeeze=False)
    for axis, model in zip(axes[0], models, strict=True):
        for path, style in STYLES.items():
            points = sorted(
                (m.batch, m.median_s / m.batch)
                for m in measurements
                if m.model == model and m.path == path
            )
            if points:
                batches, per_row = zip(*points, strict=True)
                axis.plot(batches, [t * 1e6 for t in per_row], style, label=path)
        axis.set(xscale="log", yscale="log", title=model, xlabel="rows per call")
        axis.set_ylabel("median time per row (µs)")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    figure.suptitle("Cost against batch size")
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)
    return out


def plot_forest_scaling(measurements: Sequence[ForestMeasurement], out: Path) -> Path:
    """Time per call against forest size, one panel per batch size, one line per path."""
    batches = sorted({f.measurement.batch for f in measurements})
    figure, axes = plt.subplots(1, len(batches), figsize=(5 * len(batches), 4.2), squeeze=False)
    for axis, batch in zip(axes[0], batches, strict=True):
        for path, style in STYLES.items():
            points = sorted(
                (f.trees, f.measurement.median_s)
                for f in measurements
                if f.measurement.batch == batch and f.measurement.path == path
            )
            if points:
                trees, seconds = zip(*points, strict=True)
                axis.plot(trees, [s * 1e3 for s in seconds], style, label=path)
        axis.set(xscale="log", yscale="log", title=f"{batch} row(s) per call", xlabel="trees")
        axis.set_ylabel("median time per call (ms)")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    figure.suptitle("Random forest: cost against number of trees (unlimited depth)")
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)
    return out
