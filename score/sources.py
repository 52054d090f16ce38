"""Input files: which format each is (by content: Parquet's and gzip's magic bytes, else CSV), its
header, and the chunks a run reads it in.

A plain CSV file is cut into byte ranges on line boundaries, and each worker reads its own range:
the main process never holds the rows. A gzip'd CSV file is decompressed by the main process
(gzip has no random access) and handed out as blocks of whole lines. A Parquet file is read in
batches of rows. Lines are counted by whoever reads them, so line numbers stay exact however the
file is cut (a quoted field spanning lines is not supported: flow extractors never write one).
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from score.errors import ScoreError
from score.layout import Layout, column_name

CSV = "CSV"
GZIP_CSV = "gzip'd CSV"
PARQUET = "Parquet"
_PARQUET_MAGIC = b"PAR1"
_GZIP_MAGIC = b"\x1f\x8b"
_MAX_HEADER = 1 << 20
_SAMPLE = 1 << 18  # bytes read to estimate a CSV file's line length


@dataclass(frozen=True, slots=True)
class Source:
    path: Path
    format: str
    header: tuple[str, ...]
    data_start: int  # plain CSV: the byte after the header line
    size: int  # bytes on disk: what progress is measured in

    @property
    def unit(self) -> str:
        """What a position in this input is called in messages."""
        return "row" if self.format == PARQUET else "line"


@dataclass(frozen=True, slots=True)
class Task:
    """One chunk of one input, as a worker gets it: a byte range to read (plain CSV), decompressed
    lines (gzip'd CSV) or rows (Parquet)."""

    index: int  # the chunk's place in the output
    source: int  # the input's index in the run
    layout: Layout
    progress: int  # input bytes this chunk stands for
    path: str = ""
    start: int = 0
    end: int = 0
    data: bytes | None = None
    table: pa.Table | None = None


def open_source(path: Path) -> Source:
    """Find an input's format and header; a clear error for anything unreadable."""
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
            size = path.stat().st_size
            kind = _capture_format(magic)
            if kind is not None:
                raise ScoreError(
                    f"{path}: a packet capture ({kind}), not a flow file: `ids-inference flows` "
                    "makes its flows, `ids-inference detect` judges them"
                )
            if magic == _PARQUET_MAGIC:
                return _parquet_source(path, size)
            if magic[:2] == _GZIP_MAGIC:
                with gzip.open(path, "rb") as unzipped:
                    header, _ = _header(unzipped, path)
                return Source(path, GZIP_CSV, header, 0, size)
            handle.seek(0)
            header, data_start = _header(handle, path)
            return Source(path, CSV, header, data_start, size)
    except IsADirectoryError:
        raise ScoreError(f"{path}: is a folder, not a flow file") from None
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ScoreError(f"{path}: cannot read it ({reason})") from None


def _capture_format(magic: bytes) -> str | None:
    """`pcap` or `pcapng` when an input opens like a capture. A CSV starts with text; only
    other first bytes load the capture readers (12 ms of start-up)."""
    if not magic or all(32 <= byte < 127 for byte in magic):
        return None
    from flows.capture import capture_format

    return capture_format(magic)


def _parquet_source(path: Path, size: int) -> Source:
    try:
        names = pq.ParquetFile(path).schema_arrow.names
    except (pa.ArrowException, OSError) as error:
        raise ScoreError(f"{path}: not a readable Parquet file ({error})") from None
    return Source(path, PARQUET, tuple(names), 0, size)


def _header(handle: BinaryIO | gzip.GzipFile, path: Path) -> tuple[tuple[str, ...], int]:
    line = handle.readline(_MAX_HEADER)
    if not line.strip():
        raise ScoreError(f"{path}: empty, or no header line (the first line must name the columns)")
    if not line.endswith(b"\n") and len(line) == _MAX_HEADER:
        raise ScoreError(f"{path}: the first line is over 1 MB long; not a flow file's header")
    # A UTF-8 BOM and stray spaces are the CICIDS2017 files' quirks; undecodable bytes are kept
    # as U+FFFD so the header's error message can still show the names.
    text = line.decode("utf-8-sig", errors="replace").rstrip("\r\n")
    return tuple(next(csv.reader([text]), [])), len(line)


def tasks(source: Source, index: int, layout: Layout, chunk_rows: int) -> Iterator[Task]:
    """The chunks of one input, about `chunk_rows` rows each, in order (`index` numbers the
    input; the tasks' own `index` is set by the run)."""
    if source.format == PARQUET:
        yield from _parquet_tasks(source, index, layout, chunk_rows)
    elif source.format == GZIP_CSV:
        yield from _gzip_tasks(source, index, layout, chunk_rows)
    else:
        yield from _csv_tasks(source, index, layout, chunk_rows)


def _csv_tasks(source: Source, index: int, layout: Layout, chunk_rows: int) -> Iterator[Task]:
    with source.path.open("rb") as handle:
        handle.seek(source.data_start)
        sample = handle.read(_SAMPLE)
        line_length = len(sample) / max(sample.count(b"\n"), 1)
        chunk_bytes = max(int(chunk_rows * line_length), 1 << 16)
        start = source.data_start
        while start < source.size:
            end = _line_end(handle, start + chunk_bytes, source.size)
            yield Task(-1, index, layout, end - start, str(source.path), start, end)
            start = end


def _line_end(handle: BinaryIO, position: int, size: int) -> int:
    """The first line boundary at or after `position` (just past a newline), or the file's end."""
    if position >= size:
        return size
    handle.seek(position - 1)
    while True:
        block = handle.read(1 << 16)
        if not block:
            return size
        found = block.find(b"\n")
        if found >= 0:
            return position + found
        position += len(block)


def _gzip_tasks(source: Source, index: int, layout: Layout, chunk_rows: int) -> Iterator[Task]:
    with source.path.open("rb") as raw, gzip.open(raw, "rb") as unzipped:
        unzipped.readline(_MAX_HEADER)
        block_bytes = 0
        carry = b""
        consumed = 0
        try:
            while True:
                if not block_bytes:
                    sample = unzipped.read(_SAMPLE)
                    line_length = len(sample) / max(sample.count(b"\n"), 1)
                    block_bytes = max(int(chunk_rows * line_length), 1 << 16)
                    block = sample + unzipped.read(max(block_bytes - len(sample), 0))
                else:
                    block = unzipped.read(block_bytes)
                if not block:
                    break
                data = carry + block
                cut = data.rfind(b"\n") + 1
                if cut == 0:
                    carry = data
                    continue
                data, carry = data[:cut], data[cut:]
                progress, consumed = raw.tell() - consumed, raw.tell()
                yield Task(-1, index, layout, progress, data=data)
        except (OSError, EOFError, gzip.BadGzipFile) as error:
            raise ScoreError(f"{source.path}: cannot decompress it ({error})") from None
        if carry:
            yield Task(-1, index, layout, source.size - consumed, data=carry)


def _parquet_tasks(source: Source, index: int, layout: Layout, chunk_rows: int) -> Iterator[Task]:
    used = sorted({*layout.features, *(position for _, position in layout.identifiers)})
    try:
        # No pre-buffering: it reads whole column chunks ahead, and memory grew with the file.
        reader = pq.ParquetFile(source.path, pre_buffer=False, buffer_size=1 << 20)
        rows = max(reader.metadata.num_rows, 1)
        names = reader.schema_arrow.names
        # Columns are taken by position: a Parquet schema's names need not be unique.
        unique = len(set(names)) == len(names)
        wanted = [names[position] for position in used] if unique else None
        for batch in reader.iter_batches(batch_size=chunk_rows, columns=wanted):
            columns = [batch.column(i if unique else p) for i, p in enumerate(used)]
            table = pa.Table.from_arrays(columns, names=[column_name(p) for p in used])
            progress = int(source.size * batch.num_rows / rows)
            yield Task(-1, index, layout, progress, table=table)
    except (pa.ArrowException, OSError) as error:
        raise ScoreError(f"{source.path}: cannot read its rows ({error})") from None
