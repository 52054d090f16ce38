"""In-process compute: every predictor of a model on the same rows, batch by batch, side by side."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from benchmarks.predictors import Prediction, Predictor, Rows, latest_onnx, predictors_for
from benchmarks.timing import Budget, interleaved
from models.pickle_set import PickleSet

BATCH_SIZES = (1, 10, 100, 1_000, 10_000)
# Large batches are also measured at each of these thread counts (onnxruntime's intra-op threads
# or concurrent batch-graph runs, XGBoost's nthread, the tuned forest's n_jobs).
LARGE_BATCH = 10_000
LARGE_THREADS = (1, 2)


@dataclass(frozen=True)
class Measurement:
    """One predictor on one batch: per-call times and how its answers compare to the service's."""

    model: str
    batch: int
    path: str
    median_s: float
    p99_s: float
    reps: int
    label_mismatches: int
    max_probability_difference: float
    threads: int = 1

    @property
    def rows_per_s(self) -> float:
        return self.batch / self.median_s


def take_rows(rows: Rows, n_rows: int) -> Rows:
    """The first `n_rows` rows, the pool repeated when it is smaller (tree cost is per row)."""
    repeats = -(-n_rows // len(rows))
    return np.ascontiguousarray(np.tile(rows, (repeats, 1))[:n_rows])


def disagreement(reference: Prediction, other: Prediction) -> tuple[int, float]:
    """Rows whose label differs, and the largest probability difference, against the reference."""
    mismatches = int(np.sum(reference.labels.astype(str) != other.labels.astype(str)))
    difference = float(
        np.max(np.abs(reference.probabilities.astype(np.float64) - other.probabilities))
    )
    return mismatches, difference


def compare(
    model: str, predictors: Sequence[Predictor], rows: Rows, budget: Budget, threads: int = 1
) -> list[Measurement]:
    """Check every predictor against the first on `rows`, then time them all interleaved."""
    inputs = {p.name: p.prepare(rows) for p in predictors}
    answers = {p.name: p.predict(inputs[p.name]) for p in predictors}
    reference = answers[predictors[0].name]
    timings = interleaved({p.name: partial(p.predict, inputs[p.name]) for p in predictors}, budget)
    return [
        Measurement(
            model,
            len(rows),
            p.name,
            timings[p.name].median_s,
            timings[p.name].p99_s,
            timings[p.name].reps,
            *disagreement(reference, answers[p.name]),
            threads,
        )
        for p in predictors
    ]


def run_compute(
    pickles: PickleSet,
    artifacts_dir: Path,
    rows: Rows,
    *,
    budget: Budget,
    threads: int,
    batch_sizes: Sequence[int] = BATCH_SIZES,
    models: Sequence[str] | None = None,
) -> list[Measurement]:
    """Every model of the pickle set at every batch size."""
    results: list[Measurement] = []
    for model in models or list(pickles.models):
        predictors = predictors_for(pickles, model, latest_onnx(artifacts_dir, model), threads)
        for batch in batch_sizes:
            results += compare(model, predictors, take_rows(rows, batch), budget, threads)
    return results


def run_large_batches(
    pickles: PickleSet,
    artifacts_dir: Path,
    rows: Rows,
    *,
    budget: Budget,
    thread_counts: Sequence[int] = LARGE_THREADS,
    batch: int = LARGE_BATCH,
    models: Sequence[str] | None = None,
) -> list[Measurement]:
    """Every model on one large batch at each thread count, every path side by side."""
    results: list[Measurement] = []
    large = take_rows(rows, batch)
    for model in models or list(pickles.models):
        for threads in thread_counts:
            onnx_file = latest_onnx(artifacts_dir, model)
            predictors = predictors_for(pickles, model, onnx_file, threads, jobs=threads)
            results += compare(model, predictors, large, budget, threads)
    return results
