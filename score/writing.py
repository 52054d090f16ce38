"""The output (CSV or Parquet, by extension) and the rejected-rows file beside it, each written
under a temporary name in the output's folder and renamed into place only when the run is
complete: a failed or interrupted run leaves no file that looks finished."""

from __future__ import annotations

import contextlib
import csv
import os
from pathlib import Path
from typing import TextIO

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from score.chunks import Rejected
from score.errors import ScoreError

FORMATS = {".csv": "CSV", ".parquet": "Parquet", ".pq": "Parquet"}
REJECTED_HEADER = ("file", "line", "reason", "raw line")


def output_format(path: Path) -> str:
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise ScoreError(
            f"output {str(path)!r}: name it .csv or .parquet (the extension chooses the format)"
        )
    return found


def rejected_path(output: Path) -> Path:
    """`OUTPUT.rejected.csv`: the rows a run skipped, beside its output."""
    return output.with_name(output.name + ".rejected.csv")


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.partial")


def _open_failed(path: Path, error: OSError) -> ScoreError:
    reason = error.strerror or str(error)
    return ScoreError(f"cannot write {str(path)!r} in {str(path.parent)!r} ({reason})")


class Output:
    """The scored rows, streamed chunk by chunk into a temporary file."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.format = output_format(path)
        self._temporary = _temporary(path)
        self._writer: pq.ParquetWriter | pa_csv.CSVWriter
        try:
            if self.format == "Parquet":
                self._writer = pq.ParquetWriter(self._temporary, schema)
            else:
                self._writer = pa_csv.CSVWriter(self._temporary, schema)
        except OSError as error:
            raise _open_failed(path, error) from None
        except pa.ArrowException as error:
            raise ScoreError(f"cannot write {str(path)!r} ({error})") from None

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self._writer.write_table(table)

    def commit(self) -> None:
        self._writer.close()
        os.replace(self._temporary, self.path)

    def abort(self) -> None:
        with contextlib.suppress(OSError, pa.ArrowException):  # the file is thrown away
            self._writer.close()
        self._temporary.unlink(missing_ok=True)


class RejectedRows:
    """`OUTPUT.rejected.csv`: file, line, reason and the raw line of every skipped row. Opened on
    the first one; a run with none removes the file an earlier run may have left."""

    def __init__(self, output: Path) -> None:
        self.path = rejected_path(output)
        self._temporary = _temporary(self.path)
        self._handle: TextIO | None = None
        self._writer: csv.DictWriter[str] | None = None
        self.rows = 0

    def write(self, rows: list[Rejected]) -> None:
        if self._writer is None:
            try:
                self._handle = self._temporary.open("w", encoding="utf-8", newline="")
            except OSError as error:
                raise _open_failed(self.path, error) from None
            self._writer = csv.DictWriter(self._handle, REJECTED_HEADER)
            self._writer.writeheader()
        for row in rows:
            self._writer.writerow(
                {"file": row.source, "line": row.line, "reason": row.reason, "raw line": row.raw}
            )
        self.rows += len(rows)

    def commit(self) -> None:
        if self._handle is None:
            self.path.unlink(missing_ok=True)
            return
        self._handle.close()
        os.replace(self._temporary, self.path)

    def abort(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._temporary.unlink(missing_ok=True)
