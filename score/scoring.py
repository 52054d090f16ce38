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
    # Per model: its class labels and its name and version, as Arrow values made once.
    _labels: tuple[pa.Array, ...] = field(init=False)
    _names: tuple[tuple[pa.Scalar, pa.Scalar], ...] = field(init=False)

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
        labels = tuple(
            _strings([str(label) for label in model.class_labels]) for model in self.models
        )
        object.__setattr__(self, "_labels", labels)
        texts = [_strings([model.name, model.version]) for model in self.models]
        object.__setattr__(self, "_names", tuple((text[0], text[1]) for text in texts))
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
    features, bad, blank_rows = _features(table, layout, nulls_are_nan)
    keep: np.ndarray[Any, np.dtype[np.bool_]] | None = None
    if bad or blank_rows:
        keep = np.ones(table.num_rows, dtype=bool)
        keep[[cell.row for cell in bad]] = False
        keep[blank_rows] = False
        features = features.filter(pa.array(keep))
    columns: list[pa.Array | pa.ChunkedArray] = []
    present = dict(layout.identifiers)
    for name in scorer.identifiers:
        if name in present:
            column = _text(table.column(present[name]))
            columns.append(column if keep is None else column.filter(pa.array(keep)))
        else:
            columns.append(pa.nulls(features.num_rows, pa.string()))
    setup_seconds = time.thread_time() - start
    answers, seconds = _predictions(features, scorer)
    output_start = time.thread_time()
    counts = []
    for (labels, probabilities), classes, (name, version) in zip(
        answers, scorer._labels, scorer._names, strict=True
    ):
        predicted = _predicted(labels, classes)
        columns.append(predicted)
        columns += [_floats(probabilities[:, k]) for k in range(probabilities.shape[1])]
        columns.append(pa.repeat(name, len(labels)))
        columns.append(pa.repeat(version, len(labels)))
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
    seconds["features"] += setup_seconds
    seconds["output"] = time.thread_time() - output_start
    return Scored(output, bad, len(blank_rows), counts, seconds)


# The output columns are made from buffers: `pa.array` of Python or numpy objects imports
# pandas on its first call (0.17 s CPU a run, and each worker process), and matching the
# labels against the model's few classes costs less than converting every label's text.


def _strings(values: Sequence[str]) -> pa.Array:
    encoded = [value.encode() for value in values]
    offsets = np.cumsum([0, *(len(value) for value in encoded)], dtype=np.int32)
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    return pa.Array.from_buffers(pa.string(), len(values), buffers)


def _floats(values: np.ndarray[Any, np.dtype[np.float32]]) -> pa.Array:
    column = np.ascontiguousarray(values, dtype=np.float32)
    return pa.Array.from_buffers(pa.float32(), len(column), [None, pa.py_buffer(column)])


def _predicted(labels: np.ndarray[Any, Any], classes: pa.Array) -> pa.Array:
    """The graph's labels as text: each a class of the manifest, taken from `classes` by index
    (a label outside them, which the server's probe rules out, is converted as it is)."""
    index = np.full(len(labels), -1, dtype=np.int32)
    for position, label in enumerate(classes.to_pylist()):
        index[labels == label] = position
    if (index < 0).any():
        return pa.array(labels, type=pa.string())
    return classes.take(pa.Array.from_buffers(pa.int32(), len(index), [None, pa.py_buffer(index)]))


Answers = tuple[np.ndarray[Any, Any], np.ndarray[Any, np.dtype[np.float32]]]


def _predictions(features: pa.Table, scorer: Scorer) -> tuple[list[Answers], dict[str, float]]:
    """Every model's labels and probabilities for the rows of `features`, and the CPU seconds
    spent making the rows row-major and in onnxruntime.

    The rows go to the models in pieces of at most `batch_rows` that never span two record
    batches (a CSV chunk's are the reader's 1 MB blocks, about 3,000 rows), each made row-major
    by Arrow (`to_tensor`, column-major) and copied row-major into one buffer of the chunk,
    then run while still in the cache. The whole chunk's matrix (12 MB for 20,000 rows), built
    column by column, transposed and freshly allocated every chunk, cost 2.5x the time; pieces
    of exactly `batch_rows` rows, joined across record batches, 1.6x; Arrow's row-major tensor
    1.4x (0.21 against 0.15 us a row)."""
    parts: list[list[Answers]] = [[] for _ in scorer.models]
    gather = run = 0.0
    batches = [batch for batch in features.to_batches(scorer.batch_rows or None) if batch.num_rows]
    rows: Matrix = np.empty((max((b.num_rows for b in batches), default=0), features.num_columns))
    for batch in batches:
        gather_start = time.thread_time()
        matrix = rows[: batch.num_rows]
        matrix[...] = np.asarray(batch.to_tensor(row_major=False))
        run_start = time.thread_time()
        gather += run_start - gather_start
        for model, index, answers in zip(scorer.models, scorer._columns, parts, strict=True):
            used = matrix if index is None else np.ascontiguousarray(matrix[:, index])
            answers.append(predict_in_batches(model, used, scorer.batch_rows))
        run += time.thread_time() - run_start
    answers = [
        _joined(part, len(model.class_labels))
        for part, model in zip(parts, scorer.models, strict=True)
    ]
    return answers, {"features": gather, "onnxruntime": run}


def _joined(parts: list[Answers], classes: int) -> Answers:
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return np.empty(0, dtype=object), np.empty((0, classes), dtype=np.float32)
    return (
        np.concatenate([labels for labels, _ in parts]),
        np.concatenate([probabilities for _, probabilities in parts]),
    )


def _features(
    table: pa.Table, layout: Layout, nulls_are_nan: bool
) -> tuple[pa.Table, list[BadCell], list[int]]:
    """The feature columns as float64 without nulls (a bad cell's null becomes NaN; its row is
    dropped anyway), the first bad cell of each bad row, and the blank rows."""
    rows = table.num_rows
    columns: list[pa.ChunkedArray] = []
    problems: dict[int, BadCell] = {}
    empty: np.ndarray[Any, np.dtype[np.bool_]] | None = None  # rows null in every column so far
    blank_possible = True
    for name in layout.feature_columns:
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
        columns.append(column.fill_null(np.nan) if column.null_count else column)
    blank: list[int] = []
    if blank_possible and empty is not None and empty.any():
        for _, position in layout.identifiers:
            identifier = table.column(f"c{position}")
            if identifier.null_count < rows:
                empty &= identifier.is_null().to_numpy(zero_copy_only=False)
        blank = np.flatnonzero(empty).tolist()
        for row in blank:
            problems.pop(row, None)
    features = pa.Table.from_arrays(columns, names=layout.feature_columns)
    return features, [problems[row] for row in sorted(problems)], blank


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
