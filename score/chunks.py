"""What a worker does with one chunk: read its rows, score them, set the bad rows apart.

Runs in the worker processes (or in the main process with one job). The models are loaded once
per process, on its first chunk, and kept (`scorer_for`).
"""

from __future__ import annotations

import threading
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
    data: bytes | bytearray
    if task.data is not None:
        data, size = task.data, len(task.data)
    else:
        data, size = _read_range(task)
    read_done = time.thread_time()
    table, invalid = read_csv_block(pa.py_buffer(data).slice(0, size), layout, typed=True)
    parse_done = time.thread_time()
    scored = score_table(table, layout, scorer)
    seconds = {"read": read_done - start, "parse": parse_done - read_done, **scored.seconds}
    rejected: list[Rejected] = []
    if invalid or scored.bad:
        # Arrow numbers every line from 1 (empty ones too) and reads a table row from each
        # line it does not reject.
        starts, ends = _line_bounds(data, size)
        taken = np.ones(len(starts), dtype=bool)
        for number, reason, text in invalid:
            taken[number - 1] = False
            rejected.append(Rejected(layout.source, number, WRONG_WIDTH, reason, text))
        lines = np.flatnonzero(taken) + 1
        for cell in scored.bad:
            line = int(lines[cell.row])
            text = data[starts[line - 1] : ends[line - 1]].decode("utf-8", errors="replace")
            rejected.append(
                Rejected(layout.source, line, cell.kind, cell.reason, text.rstrip("\r"))
            )
        rejected.sort(key=lambda row: row.line)
    # Every line is a table row or a rejected one (an empty line is a row of nulls), so Arrow
    # has counted the lines. A quoted field may hold a line break, which Arrow reads as part
    # of its row: then the line breaks are counted.
    count = table.num_rows + len(invalid)
    if data.find(b'"', 0, size) >= 0:
        count = data.count(b"\n", 0, size) + (0 if not size or data[size - 1] == 10 else 1)
    return Result(
        task.index,
        task.source,
        scored.table,
        rejected,
        count,
        scored.blank,
        scored.counts,
        task.progress,
        seconds,
    )


class _Buffer(threading.local):
    """Each thread's buffer for the chunks it reads, kept: a fresh 7 MB bytes object a chunk
    costs its page faults (0.1 us a row, measured with the parse that follows)."""

    data = bytearray()


_buffer = _Buffer()


def _read_range(task: Task) -> tuple[bytearray, int]:
    """The chunk's bytes, at the start of this thread's buffer, and how many there are. The
    buffer is overwritten by the thread's next chunk: nothing read from it may keep it (Arrow's
    CSV reader copies every value it reads)."""
    size = task.end - task.start
    if len(_buffer.data) < size:
        _buffer.data = bytearray(size)
    try:
        with open(task.path, "rb") as handle:
            handle.seek(task.start)
            return _buffer.data, handle.readinto(memoryview(_buffer.data)[:size])
    except OSError as error:
        raise ScoreError(f"{task.path}: cannot read it ({error.strerror})") from None


def read_csv_block(
    data: pa.Buffer, layout: Layout, *, typed: bool
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
            data,
            read_options=pa_csv.ReadOptions(column_names=names, use_threads=False),
            # Empty lines are rows of nulls, which scoring counts as blank: Arrow then numbers
            # rows by the file's lines, and no pass over the bytes has to look for them.
            parse_options=pa_csv.ParseOptions(
                invalid_row_handler=wrong_width, ignore_empty_lines=False
            ),
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


def _line_bounds(data: bytes | bytearray, size: int) -> tuple[list[int], list[int]]:
    """Every line's start and end offsets in the first `size` bytes of `data`, lines ending as
    Arrow ends them: at a newline, or at a carriage return not followed by one."""
    buffer = np.frombuffer(data, dtype=np.uint8, count=size)
    after = np.append(buffer[1:], np.uint8(0))
    ends = np.flatnonzero((buffer == 10) | ((buffer == 13) & (after != 10)))
    if size and data[size - 1] not in (10, 13):
        ends = np.append(ends, size)
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
    return starts.tolist(), ends.tolist()
