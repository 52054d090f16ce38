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


# panel title -> path -> (x, y) points
Panels = dict[str, dict[str, list[tuple[float, float]]]]


def _plot(panels: Panels, xlabel: str, ylabel: str, title: str, out: Path) -> Path:
    """One log-log panel per entry, one line per path in a fixed style."""
    width = max(7.0, 5.0 * len(panels))
    figure, axes = plt.subplots(1, len(panels), figsize=(width, 4.2), squeeze=False)
    for axis, (panel, lines) in zip(axes[0], panels.items(), strict=True):
        for path, style in STYLES.items():
            if lines.get(path):
                x, y = zip(*sorted(lines[path]), strict=True)
                axis.plot(x, y, style, label=path)
        axis.set(xscale="log", yscale="log", title=panel, xlabel=xlabel, ylabel=ylabel)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)
    return out


def plot_batch_scaling(measurements: Sequence[Measurement], out: Path) -> Path:
    """Per-row cost against batch size, one panel per model, one line per path."""
    panels: Panels = {}
    for m in measurements:
        panels.setdefault(m.model, {}).setdefault(m.path, []).append(
            (m.batch, m.median_s / m.batch * 1e6)
        )
    return _plot(
        panels, "rows per call", "median time per row (µs)", "Cost against batch size", out
    )


def plot_forest_scaling(measurements: Sequence[ForestMeasurement], out: Path) -> Path:
    """Time per call against forest size, one panel per batch size, one line per path."""
    panels: Panels = {}
    for f in sorted(measurements, key=lambda f: f.measurement.batch):
        m = f.measurement
        panel = panels.setdefault(f"{m.batch:,} row(s) per call", {})
        panel.setdefault(m.path, []).append((f.trees, m.median_s * 1e3))
    title = "Random forest: cost against number of trees (unlimited depth)"
    return _plot(panels, "trees", "median time per call (ms)", title, out)
