"""The parity gate: the graph must answer exactly as the pickle pipeline does.

The pickle pipeline is the existing service's: the training's cleaning (non-finite -> 0),
`scaler.transform`, `model.predict` and `predict_proba`, `label_encoder.inverse_transform`. A
model passes when no label differs, except where the pickle's own two highest probabilities are
exactly equal (there the first class wins by convention alone), and no probability differs by
more than the tolerance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnxruntime as ort

from convert.errors import CheckDataError

TOLERANCE = 1e-6
SHOWN_FAILURES = 5
# Rows per run: bounds the [rows, trees, classes] float64 tables a forest's graph builds.
CHUNK_ROWS = 8192


@dataclass(frozen=True)
class Answers:
    labels: np.ndarray
    probabilities: np.ndarray


def _chunks(rows: np.ndarray) -> Iterator[np.ndarray]:
    for start in range(0, len(rows), CHUNK_ROWS):
        yield rows[start : start + CHUNK_ROWS]


def _joined(parts: list[Answers], n_classes: int) -> Answers:
    if not parts:
        return Answers(np.zeros(0, dtype=object), np.zeros((0, n_classes)))
    return Answers(
        np.concatenate([p.labels for p in parts]),
        np.concatenate([p.probabilities for p in parts]),
    )


def pickle_answers(model: Any, scaler: Any, encoder: Any, raw: np.ndarray) -> Answers:
    """The existing service's pipeline on raw flows."""
    parts = []
    for start, chunk in zip(range(0, len(raw), CHUNK_ROWS), _chunks(raw), strict=True):
        try:
            # Beyond float32, scikit-learn raises a clearer error than numpy's cast warning.
            with np.errstate(over="ignore"):
                scaled = scaler.transform(np.where(np.isfinite(chunk), chunk, 0.0))
                labels = encoder.inverse_transform(model.predict(scaled))
                probabilities = np.asarray(model.predict_proba(scaled), dtype=np.float64)
        except ValueError as error:  # e.g. a value beyond float32 once scaled
            message = str(error).splitlines()[0]
            raise CheckDataError(
                f"the pickle pipeline rejects rows {start}-{start + len(chunk) - 1}: {message}"
            ) from error
        parts.append(Answers(np.asarray(labels, dtype=object), probabilities))
    return _joined(parts, len(encoder.classes_))


def graph_answers(session: ort.InferenceSession, raw: np.ndarray, n_classes: int) -> Answers:
    """The graph's answers on raw flows, in onnxruntime."""
    parts = []
    for chunk in _chunks(raw):
        labels, probabilities = session.run(["label", "probabilities"], {"features": chunk})
        parts.append(Answers(np.asarray(labels, dtype=object), np.asarray(probabilities)))
    return _joined(parts, n_classes)


@dataclass(frozen=True)
class Comparison:
    """How one set of rows compared; `failing` indexes the rows that break the gate."""

    rows: int
    label_mismatches: int
    exact_ties: int
    max_difference: float
    failing: np.ndarray


def compare(expected: Answers, got: Answers, tolerance: float) -> Comparison:
    differ = expected.labels != got.labels
    top_two = np.sort(expected.probabilities, axis=1)[:, -2:]
    tied = top_two[:, 0] == top_two[:, 1]
    difference = np.abs(got.probabilities.astype(np.float64) - expected.probabilities)
    worst = difference.max(axis=1, initial=0.0)
    # NaN never passes: `worst <= tolerance` is False for it.
    failing = np.flatnonzero((differ & ~tied) | ~(worst <= tolerance))
    return Comparison(
        rows=len(differ),
        label_mismatches=int((differ & ~tied).sum()),
        exact_ties=int((differ & tied).sum()),
        max_difference=float(worst.max(initial=0.0)),  # NaN if any row's is NaN
        failing=failing,
    )


@dataclass(frozen=True)
class ParityReport:
    """The gate's figures, as they go into `manifest.json`, and the first failures."""

    rows: int
    boundary_points: int
    non_finite_probes: int
    label_mismatches: int
    exact_ties: int
    max_probability_difference: float
    tolerance: float
    check_data: tuple[str, ...]
    failures: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return self.label_mismatches == 0 and self.max_probability_difference <= self.tolerance

    def manifest(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "rows": self.rows,
            "boundary_points": self.boundary_points,
            "non_finite_probes": self.non_finite_probes,
            "label_mismatches": self.label_mismatches,
            "exact_ties": self.exact_ties,
            "max_probability_difference": self.max_probability_difference,
            "tolerance": self.tolerance,
            "check_data": list(self.check_data),
        }


@dataclass(frozen=True)
class RowSet:
    """Rows to check, and how to name row i in a failure message."""

    rows: np.ndarray
    describe: Callable[[int], str]


def _failure(name: str, i: int, expected: Answers, got: Answers) -> str:
    def show(p: np.ndarray) -> str:
        return "[" + ", ".join(f"{v:.9g}" for v in p) + "]"

    return (
        f"{name}: pickle {expected.labels[i]!r} {show(expected.probabilities[i])}, "
        f"graph {got.labels[i]!r} {show(got.probabilities[i])}"
    )


def check_parity(
    pickle_side: Callable[[np.ndarray], Answers],
    graph_side: Callable[[np.ndarray], Answers],
    *,
    check: RowSet,
    boundary: Iterable[RowSet],
    probes: RowSet,
    check_data: tuple[str, ...],
    tolerance: float = TOLERANCE,
) -> ParityReport:
    """Run both sides on the check rows, the boundary points (in batches) and the non-finite
    probes."""
    counts = {"check": 0, "boundary": 0, "probes": 0}
    mismatches = ties = 0
    worst = 0.0
    failures: list[str] = []
    batches = [("check", check), *(("boundary", b) for b in boundary), ("probes", probes)]
    for part, rows in batches:
        expected, got = pickle_side(rows.rows), graph_side(rows.rows)
        result = compare(expected, got, tolerance)
        counts[part] += result.rows
        mismatches += result.label_mismatches
        ties += result.exact_ties
        worst = float(np.max([worst, result.max_difference]))  # NaN wins, and fails
        for i in result.failing[: SHOWN_FAILURES - len(failures)]:
            failures.append(_failure(rows.describe(int(i)), int(i), expected, got))
    return ParityReport(
        rows=counts["check"],
        boundary_points=counts["boundary"],
        non_finite_probes=counts["probes"],
        label_mismatches=mismatches,
        exact_ties=ties,
        max_probability_difference=worst,
        tolerance=tolerance,
        check_data=check_data,
        failures=tuple(failures),
    )
