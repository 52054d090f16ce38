"""A flow extractor's CSV (CICFlowMeter, CICIDS2017 files) to feature rows, and results to CSV.

Columns are found by header name, in any order, in any naming of `flows.columns` (CICIDS2017's,
CICFlowMeter's, CSE-CIC-IDS2018's), ignoring whitespace and case; columns that are not features
(Flow ID, Source IP, Timestamp, Label, ...) are ignored. A repeated header name gets pandas'
suffixes (`.1`, `.2`): the CICIDS2017 files write `Fwd Header Length` twice, and the second is
the feature `Fwd Header Length.1`; files that write it once (CICFlowMeter's, CSE-CIC-IDS2018's)
have it restored from the first. Two columns naming one feature are refused.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import numpy as np

from flows.columns import AmbiguousColumnsError
from server.codecs.features import NAMINGS_HINT, FeatureSchema, Matrix, describe, name_list
from server.errors import InvalidInput, PayloadTooLarge


def decode_csv(body: bytes, schema: FeatureSchema, max_rows: int) -> Matrix:
    """Feature rows `[N, count]` from a CSV body with a header line."""
    # Some CICIDS2017 files carry a cp1252 byte in their Label column: undecodable bytes become
    # U+FFFD, which only matters in a column the server ignores.
    text = body.decode("utf-8-sig", errors="replace")
    if "\r" in text:  # CRLF (and the odd bare CR) become LF, the only line end numpy reads
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    header_line, _, data = text.partition("\n")
    try:
        return _decode(header_line, data, schema, max_rows)
    except csv.Error as error:
        raise InvalidInput(f"not readable as CSV ({error})", ("csv",), where="CSV") from None


def _decode(header_line: str, data: str, schema: FeatureSchema, max_rows: int) -> Matrix:
    header = next(csv.reader([header_line]), [])
    if not any(cell.strip() for cell in header):
        raise InvalidInput("no header line", ("csv", "header"), where="CSV")
    columns = _feature_columns(header, schema)
    if not data.strip():
        raise InvalidInput("a header but no rows", ("csv",), where="CSV")
    if data.rstrip().count("\n") >= max_rows and _count_rows(data) > max_rows:
        raise PayloadTooLarge(f"Maximum {max_rows} flows per batch")
    try:
        # numpy's C parser reads a 1000-flow file in about 2 ms, several times faster than the
        # csv module; it skips blank lines and reads `Infinity`, `NaN` and `51885.0`.
        rows = np.loadtxt(
            io.StringIO(data),
            dtype=np.float64,
            delimiter=",",
            usecols=columns,
            comments=None,
            quotechar='"',
            ndmin=2,
        )
    except (ValueError, IndexError):
        # The slow path finds the line and column to name in the error.
        rows = _checked_rows(data, header, columns, max_rows)
    return rows


def _count_rows(data: str) -> int:
    return sum(1 for line in data.splitlines() if line.strip())


def _feature_columns(header: list[str], schema: FeatureSchema) -> list[int]:
    try:
        positions, _ = schema.locate(header)
    except AmbiguousColumnsError as error:
        raise InvalidInput(str(error), ("csv", "header"), where="CSV header") from None
    missing = [name for name, found in zip(schema.names, positions, strict=True) if found is None]
    if missing:
        raise InvalidInput(
            f"missing features: {name_list(missing)}{NAMINGS_HINT}",
            ("csv", "header"),
            where="CSV header",
        )
    return [found for found in positions if found is not None]


def _checked_rows(data: str, header: list[str], columns: list[int], max_rows: int) -> Matrix:
    rows: list[list[float]] = []
    needed = max(columns) + 1
    reader = csv.reader(io.StringIO(data))
    for record in reader:
        if not record or (len(record) == 1 and not record[0].strip()):
            continue
        line = reader.line_num + 1  # the header is line 1
        if len(rows) == max_rows:
            raise PayloadTooLarge(f"Maximum {max_rows} flows per batch")
        if len(record) < needed:
            raise InvalidInput(
                f"{len(record)} fields, the header has {len(header)}",
                ("csv", line),
                where=f"CSV line {line}",
            )
        values = []
        for column in columns:
            cell = record[column]
            try:
                values.append(float(cell))
            except ValueError:
                name = header[column].strip()
                raise InvalidInput(
                    f"expected a number, got {describe(cell)}",
                    ("csv", line, name),
                    "float_parsing",
                    where=f"CSV line {line}, column {name!r}",
                ) from None
        rows.append(values)
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(columns))


def encode_csv(header: Sequence[str], records: Sequence[Sequence[object]]) -> bytes:
    """A CSV answer (CRLF line ends, as RFC 4180 and the csv module write them)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(records)
    return out.getvalue().encode()
