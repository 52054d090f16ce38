"""What a worker does with one chunk: read its rows, score them, set the bad rows apart.

Runs in the worker processes (or in the main process with one job). The models are loaded once
per process, on its first chunk, and kept (`scorer_for`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from score.errors import ScoreError
from score.layout import Layout
from score.models import ModelSpec, load_models
from score.scoring import WRONG_WIDTH, Scorer, row_text, score_table
from score.sources import Task


@dataclass(frozen=True, slots=True)
class ScorerKey:
    """Everything a process needs to build the run's scorer, small enough to send to it."""

    artifacts: str
    specs: tuple[ModelSpec, ...]
    threads: int
    identifiers: tuple[str, ...]
    batch_rows: int


# One scorer (its onnxruntime sessions) per process and run: a worker process, a Spark Python
# worker, or the main process with one job. Loaded on the first chunk, kept for every later one.
_scorers: dict[ScorerKey, Scorer] = {}


def scorer_for(key: ScorerKey) -> Scorer:
    found = _scorers.get(key)
    if found is None:
        models = load_models(Path(key.artifacts), key.specs, key.threads)
        found = _scorers[key] = Scorer(tuple(models), key.specs, key.identifiers, key.batch_rows)
    return found


def keep_scorer(key: ScorerKey, scorer: Scorer) -> None:
    """Reuse a scorer already built in this process (the main process, with one job)."""
    _scorers[key] = scorer


@dataclass(frozen=True, slots=True)
class Rejected:
    """A row that was not scored. `line` counts from the chunk's first line (1) until the run
    adds the lines before the chunk."""

    source: str
    line: int
    kind: str
    reason: str
    raw: str


@dataclass(frozen=True)
class Result:
    index: int
    source: int
    table: pa.Table
    rejected: list[Rejected]
    lines: int  # lines (CSV) or rows (Parquet) the chunk covered
    blank: int
    counts: list[dict[str, int]]
    progress: int
    seconds: dict[str, float]  # per stage, in the worker


def process(key: ScorerKey, task: Task) -> Result:
    """Read, check and score one chunk."""
    scorer = scorer_for(key)
    layout = task.layout
    if task.table is not None:
        table = task.table
        scored = score_table(table, layout, scorer, nulls_are_nan=True)
        bad_rows = [
            Rejected(
                layout.source,
                cell.row + 1,
                cell.kind,
                cell.reason,
                row_text([table.column(i)[cell.row].as_py() for i in range(len(table.columns))]),
            )
            for cell in scored.bad
        ]
        return Result(
            task.index,
            task.source,
            scored.table,
            bad_rows,
            table.num_rows,
            scored.blank,
            scored.counts,
            task.progress,
            scored.seconds,
        )
    # CPU time of this thread (onnxruntime runs on it with one intra-op thread): on a shared
    # machine, wall-clock stage times measure the neighbours as much as the stage.
    start = time.thread_time()
    data = task.data if task.data is not None else _read_range(task)
    read_done = time.thread_time()
    table, invalid = read_csv_block(data, layout, typed=True)
    parse_done = time.thread_time()
    scored = score_table(table, layout, scorer)
    seconds = {"read": read_done - start, "parse": parse_done - read_done, **scored.seconds}
    blank = scored.blank
    rejected: list[Rejected] = []
    if invalid or scored.bad or _has_empty_lines(data):
        # Arrow numbers rows by the non-empty lines it saw; map them back to the file's lines.
        numbers, starts, ends = _line_index(data)
        blank += len(starts) - len(numbers)
        skipped = set()
        for number, reason, text in invalid:
            line = int(numbers[number - 1])
            skipped.add(line)
            rejected.append(Rejected(layout.source, line, WRONG_WIDTH, reason, text))
        if scored.bad:
            lines = numbers[~np.isin(numbers, list(skipped))] if skipped else numbers
            for cell in scored.bad:
                line = int(lines[cell.row])
                text = data[starts[line - 1] : ends[line - 1]].decode("utf-8", errors="replace")
                rejected.append(
                    Rejected(layout.source, line, cell.kind, cell.reason, text.rstrip("\r"))
                )
        rejected.sort(key=lambda row: row.line)
    count = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    return Result(
        task.index,
        task.source,
        scored.table,
        rejected,
        count,
        blank,
        scored.counts,
        task.progress,
        seconds,
    )


def _read_range(task: Task) -> bytes:
    try:
        with open(task.path, "rb") as handle:
            handle.seek(task.start)
            return handle.read(task.end - task.start)
    except OSError as error:
        raise ScoreError(f"{task.path}: cannot read it ({error.strerror})") from None


def read_csv_block(
    data: bytes, layout: Layout, *, typed: bool
) -> tuple[pa.Table, list[tuple[int, str, str]]]:
    """The used columns of some CSV lines (no header), features as float64, identifiers as
    unchecked text; and the lines with the wrong number of fields: (line, reason, text).

    Arrow's reader stops at the first value that is no number; the chunk is then read again
    with the features as text, and scoring finds every bad value.
    """
    invalid: list[tuple[int, str, str]] = []

    def wrong_width(row: Any) -> str:
        reason = f"{row.actual_columns} fields, the header has {row.expected_columns}"
        invalid.append((int(row.number), reason, str(row.text)))
        return "skip"

    used = {*layout.features, *(position for _, position in layout.identifiers)}
    names = layout.column_names
    features = set(layout.features)
    types = {
        names[position]: (pa.float64() if typed and position in features else pa.string())
        for position in used
    }
    try:
        table = pa_csv.read_csv(
            pa.py_buffer(data),
            read_options=pa_csv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pa_csv.ParseOptions(invalid_row_handler=wrong_width),
            convert_options=pa_csv.ConvertOptions(
                column_types=types,
                include_columns=[names[position] for position in sorted(used)],
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                check_utf8=False,
            ),
        )
    except pa.ArrowInvalid as error:
        if typed and "conversion error" in str(error):
            return read_csv_block(data, layout, typed=False)
        raise ScoreError(f"{layout.source}: not readable as CSV ({error})") from None
    return table, invalid


def _has_empty_lines(data: bytes) -> bool:
    return b"\n\n" in data or b"\n\r\n" in data or data.startswith((b"\n", b"\r\n"))


def _line_index(data: bytes) -> tuple[np.ndarray[Any, np.dtype[np.int64]], list[int], list[int]]:
    """The numbers (from 1) of the non-empty lines, the ones Arrow reads rows from, and every
    line's start and end offsets."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buffer == 10)
    if len(data) and data[-1:] != b"\n":
        ends = np.append(ends, len(data))
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
    lengths = ends - starts
    first = buffer[np.minimum(starts, max(len(buffer) - 1, 0))]
    empty = (lengths == 0) | ((lengths == 1) & (first == 13))
    numbers = np.arange(1, len(ends) + 1, dtype=np.int64)[~empty]
    return numbers, starts.tolist(), ends.tolist()
