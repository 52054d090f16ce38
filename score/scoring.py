"""The work on one chunk, the same for the command line and for Spark: raw columns in (as read,
named `c0`, `c1`, ... by position), verdicts out, rows that cannot be scored set apart.

A feature value is a number as the CSV reader reads it (`Infinity`, `-Infinity` and `NaN` are
numbers: the graph cleans them as the training did); text and empty cells are not, and make the
row a bad row. A row whose every column is empty (a line of bare commas) is blank: counted, not
scored, not a bad row.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from score.layout import Layout
from score.models import ModelSpec
from server.model import Model, predict_in_batches

Matrix = np.ndarray[Any, np.dtype[np.float64]]

# Bad-row kinds, as the summary groups them.
WRONG_WIDTH = "wrong column count"
NOT_A_NUMBER = "text in a numeric column"
EMPTY = "empty numeric value"


@dataclass(frozen=True, slots=True)
class BadCell:
    row: int  # index in the chunk's table
    kind: str
    reason: str


@dataclass(frozen=True)
class Scorer:
    """The models of a run and the output they make: identifier columns, then one column set
    per model (`prediction`, `probability_<class>`..., `model`, `model_version`), prefixed
    `<model>_` when several models are scored."""

    models: tuple[Model, ...]
    specs: tuple[ModelSpec, ...]
    identifiers: tuple[str, ...]
    batch_rows: int = 0  # rows per onnxruntime run; 0: the whole chunk in one run
    feature_names: tuple[str, ...] = field(init=False)
    schema: pa.Schema = field(init=False)
    _columns: tuple[np.ndarray[Any, np.dtype[np.intp]] | None, ...] = field(init=False)

    def __post_init__(self) -> None:
        names: list[str] = []
        for model in self.models:
            names += [name for name in model.schema.names if name not in names]
        position = {name: index for index, name in enumerate(names)}
        columns = []
        for model in self.models:
            index = np.array([position[name] for name in model.schema.names], dtype=np.intp)
            identity = len(index) == len(names) and bool((index == np.arange(len(names))).all())
            columns.append(None if identity else index)
        object.__setattr__(self, "feature_names", tuple(names))
        object.__setattr__(self, "_columns", tuple(columns))
        fields = [pa.field(name, pa.string()) for name in self.identifiers]
        for model, spec in zip(self.models, self.specs, strict=True):
            prefix = self.prefix(spec)
            fields.append(pa.field(f"{prefix}prediction", pa.string()))
            fields += [
                pa.field(f"{prefix}probability_{label}", pa.float32())
                for label in model.class_labels
            ]
            fields += [pa.field(f"{prefix}model", pa.string())]
            fields += [pa.field(f"{prefix}model_version", pa.string())]
        object.__setattr__(self, "schema", pa.schema(fields))

    def prefix(self, spec: ModelSpec) -> str:
        return "" if len(self.specs) == 1 else f"{spec.label}_"

    def prediction_columns(self) -> list[str]:
        return [f"{self.prefix(spec)}prediction" for spec in self.specs]


@dataclass(frozen=True)
class Scored:
    table: pa.Table  # the output rows, in input order, bad and blank rows left out
    bad: list[BadCell]  # the first problem of every bad row, by row
    blank: int
    counts: list[dict[str, int]]  # per model: prediction -> rows
    seconds: dict[str, float]  # CPU seconds of the stages: features, onnxruntime, output


def score_table(
    table: pa.Table, layout: Layout, scorer: Scorer, *, nulls_are_nan: bool = False
) -> Scored:
    """Score one chunk: every row with numbers in all its feature columns, in order.

    An empty CSV cell is a bad row (the server refuses one too); a null in a typed column
    (Parquet, Spark, pandas) is NaN with `nulls_are_nan`, as pandas and Arrow write NaN, and the
    graph cleans it like any NaN."""
    start = time.thread_time()
    matrix, bad, blank_rows = _features(table, layout, nulls_are_nan)
    keep: np.ndarray[Any, np.dtype[np.bool_]] | None = None
    if bad or blank_rows:
        keep = np.ones(table.num_rows, dtype=bool)
        keep[[cell.row for cell in bad]] = False
        keep[blank_rows] = False
        matrix = matrix[keep]
    features_done = time.thread_time()
    run_seconds = 0.0
    columns: list[pa.Array | pa.ChunkedArray] = []
    present = dict(layout.identifiers)
    for name in scorer.identifiers:
        if name in present:
            column = _text(table.column(present[name]))
            columns.append(column if keep is None else column.filter(pa.array(keep)))
        else:
            columns.append(pa.nulls(len(matrix), pa.string()))
    counts = []
    for model, index in zip(scorer.models, scorer._columns, strict=True):
        rows = matrix if index is None else np.ascontiguousarray(matrix[:, index])
        run_start = time.thread_time()
        labels, probabilities = predict_in_batches(model, rows, scorer.batch_rows)
        run_seconds += time.thread_time() - run_start
        predicted = pa.array(labels, type=pa.string())
        columns.append(predicted)
        columns += [pa.array(probabilities[:, k]) for k in range(probabilities.shape[1])]
        columns.append(pa.repeat(pa.scalar(model.name), len(rows)))
        columns.append(pa.repeat(pa.scalar(model.version), len(rows)))
        tally = pc.value_counts(predicted)
        counts.append(
            dict(
                zip(
                    tally.field("values").to_pylist(),
                    tally.field("counts").to_pylist(),
                    strict=True,
                )
            )
        )
    output = pa.Table.from_arrays(columns, schema=scorer.schema)
    seconds = {
        "features": features_done - start,
        "onnxruntime": run_seconds,
        "output": time.thread_time() - features_done - run_seconds,
    }
    return Scored(output, bad, len(blank_rows), counts, seconds)


def _features(
    table: pa.Table, layout: Layout, nulls_are_nan: bool
) -> tuple[Matrix, list[BadCell], list[int]]:
    """The feature matrix `[rows, features]` (C order, as onnxruntime takes it), the first bad
    cell of each bad row, and the blank rows."""
    rows = table.num_rows
    by_column = np.empty((len(layout.features), rows), dtype=np.float64)
    problems: dict[int, BadCell] = {}
    empty: np.ndarray[Any, np.dtype[np.bool_]] | None = None  # rows null in every column so far
    blank_possible = True
    for j, name in enumerate(layout.feature_columns):
        column = table.column(name)
        if column.type != pa.float64():
            column = _numbers(column, name, layout, problems)
        if column.null_count and not nulls_are_nan:
            nulls = column.is_null().to_numpy(zero_copy_only=False)
            empty = nulls if empty is None else empty & nulls
            for row in np.flatnonzero(nulls).tolist():
                if row not in problems:
                    header = _header_name(layout, name)
                    problems[row] = BadCell(row, EMPTY, f"column {header!r} is empty")
        else:
            blank_possible = False
        _fill(by_column[j], column)
    blank: list[int] = []
    if blank_possible and empty is not None and empty.any():
        for _, position in layout.identifiers:
            identifier = table.column(f"c{position}")
            if identifier.null_count < rows:
                empty &= identifier.is_null().to_numpy(zero_copy_only=False)
        blank = np.flatnonzero(empty).tolist()
        for row in blank:
            problems.pop(row, None)
    return _row_major(by_column), [problems[row] for row in sorted(problems)], blank


def _fill(target: Matrix, column: pa.ChunkedArray) -> None:
    """Copy a column's chunks into one row of the column-major matrix (nulls become NaN)."""
    offset = 0
    for chunk in column.chunks:
        target[offset : offset + len(chunk)] = chunk.to_numpy(zero_copy_only=False)
        offset += len(chunk)


TRANSPOSE_ROWS = 256  # 78 x 256 float64 (160 KB) stays in L2 while it is transposed


def _row_major(by_column: Matrix) -> Matrix:
    """`by_column.T` as a C-order matrix, transposed block by block: numpy's one-go transpose
    (or filling a row-major matrix column by column) misses the cache on every row, and took
    5x longer on a 20,000-row chunk."""
    columns, rows = by_column.shape
    matrix = np.empty((rows, columns), dtype=np.float64)
    for start in range(0, rows, TRANSPOSE_ROWS):
        matrix[start : start + TRANSPOSE_ROWS] = by_column[:, start : start + TRANSPOSE_ROWS].T
    return matrix


def _numbers(
    column: pa.ChunkedArray, name: str, layout: Layout, problems: dict[int, BadCell]
) -> pa.ChunkedArray:
    """A column that is not float64 (text from a CSV with a bad value, integers or text from
    Parquet or Spark) as float64; a value that is no number becomes null, its row a bad row."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        bad = _unparsable(array, 0)
        if bad:
            header = _header_name(layout, name)
            for row in bad:
                if row not in problems:
                    value = _shown(array[row].as_py())
                    problems[row] = BadCell(
                        row, NOT_A_NUMBER, f"column {header!r} holds {value}, not a number"
                    )
            mask = np.zeros(len(array), dtype=bool)
            mask[bad] = True
            array = pc.if_else(pa.array(mask), pa.nulls(len(array), array.type), array)
        return pa.chunked_array([pc.cast(array, pa.float64())])
    # Integers past 2**53 round as a float64 feature must; Parquet decimals likewise.
    return pa.chunked_array([pc.cast(array, pa.float64(), safe=False)])


def _unparsable(array: pa.Array, offset: int) -> list[int]:
    """Rows of `array` that Arrow's own number parser refuses, found by halving: a handful of
    casts for a chunk with a few bad values, and exactly the fast path's rules."""
    try:
        pc.cast(array, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        if len(array) == 1:
            return [offset]
        half = len(array) // 2
        return _unparsable(array.slice(0, half), offset) + _unparsable(
            array.slice(half), offset + half
        )
    return []


def _text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """An identifier column as UTF-8 text. CSV identifiers are read unchecked (one CICIDS2017
    file has a cp1252 byte in its labels); undecodable bytes become U+FFFD, as in the server."""
    if not (pa.types.is_string(column.type) or pa.types.is_binary(column.type)):
        return pc.cast(column, pa.string())
    try:
        column.validate(full=True)
        return column if pa.types.is_string(column.type) else column.cast(pa.string())
    except pa.ArrowInvalid:
        values = [
            None if value is None else value.decode("utf-8", errors="replace")
            for value in column.cast(pa.binary()).to_pylist()
        ]
        return pa.chunked_array([pa.array(values, type=pa.string())])


def _header_name(layout: Layout, column: str) -> str:
    return layout.header[int(column[1:])].strip()


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def row_text(values: Sequence[object]) -> str:
    """A row of values as one CSV-like line, for the rejected-rows file of a Parquet input."""
    return ",".join("" if value is None else str(value) for value in values)
