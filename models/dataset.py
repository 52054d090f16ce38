"""Flow records: reading CICIDS2017 CSV files into one typed matrix, and the training's cleaning.

`load_flows` keeps the values exactly as the files hold them (`Infinity`, `NaN`, -1 durations);
`clean_flows` then applies the existing training's cleaning.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from flows import columns
from models.csv_layout import (
    AmbiguousColumnsError,
    ColumnLayout,
    MissingColumnsError,
    locate_columns,
    read_header,
)
from models.features import N_FEATURES
from models.labels import UnknownLabelError, canonical_label

__all__ = [
    "UNLABELLED",
    "AmbiguousColumnsError",
    "CsvFormatError",
    "Flows",
    "MissingColumnsError",
    "SourceFile",
    "UnknownLabelError",
    "clean_flows",
    "clean_flows_counted",
    "csv_files",
    "label_counts",
    "load_flows",
]

log = logging.getLogger(__name__)

# Label of the rows of a file without a Label column (a capture to classify, not to train on).
UNLABELLED = ""
# Rows per read: about 60 MB of parsed text columns at a time, whatever the file size.
CHUNK_ROWS = 100_000


class CsvFormatError(ValueError):
    """A CSV file that cannot be read as CICIDS2017 flow records."""


def label_counts(labels: np.ndarray) -> dict[str, int]:
    """Rows per label, largest first (ties by name)."""
    # Hash-based counting: no per-row string copies, even for millions of rows.
    counts = pd.Series(labels, dtype=object).value_counts(sort=False)
    return dict(
        sorted(((str(k), int(n)) for k, n in counts.items()), key=lambda kn: (-kn[1], kn[0]))
    )


def _no_rows() -> np.ndarray:
    return np.zeros(0, dtype=np.int32)


@dataclass(frozen=True)
class SourceFile:
    """What one input contributed, and what the reader had to repair in it."""

    path: str
    layout: str
    rows: int
    labelled: bool
    naming: str = columns.CICIDS2017  # whose column names the header uses (flows.columns)
    restored_columns: tuple[str, ...] = ()
    blank_rows_skipped: int = 0


@dataclass(frozen=True, eq=False)
class Flows:
    """Flow records in model feature order, with their canonical labels.

    `features` is float64 `[n, 78]`; `labels` holds canonical class names (`UNLABELLED` for rows
    of a file without a Label column); `source_index[i]` is the index in `sources` of the file
    row `i` came from; `files` describes each source.
    """

    features: np.ndarray
    labels: np.ndarray
    sources: tuple[str, ...]
    source_index: np.ndarray = field(default_factory=_no_rows)
    files: tuple[SourceFile, ...] = ()

    def __post_init__(self) -> None:
        n = self.features.shape[0]
        if self.features.ndim != 2 or self.features.shape[1] != N_FEATURES:
            raise ValueError(f"features must be [n, {N_FEATURES}], got {self.features.shape}")
        if self.labels.shape != (n,):
            raise ValueError(f"labels must be [{n}], got {self.labels.shape}")
        if self.source_index.size == 0 and n and len(self.sources) <= 1:
            object.__setattr__(self, "source_index", np.zeros(n, dtype=np.int32))
        if self.source_index.shape != (n,):
            raise ValueError(f"source_index must be [{n}], got {self.source_index.shape}")

    def __len__(self) -> int:
        return int(self.features.shape[0])

    @property
    def labelled(self) -> bool:
        """True when every row has a class label (every source had a Label column)."""
        return not bool(np.any(self.labels == UNLABELLED))

    def class_counts(self) -> dict[str, int]:
        """Rows per label, largest class first."""
        return label_counts(self.labels)

    def select(self, rows: np.ndarray) -> Flows:
        """The rows picked by a boolean mask or index array, as new arrays."""
        return replace(
            self,
            features=self.features[rows],
            labels=self.labels[rows],
            source_index=self.source_index[rows],
        )


def csv_files(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """The CSV files named by `paths`: files as given, folders expanded to their `*.csv`."""
    if isinstance(paths, str | os.PathLike):
        paths = [paths]  # one path, not a sequence of characters
    if not paths:
        raise ValueError("no input given: name at least one CSV file or folder")
    found: dict[Path, Path] = {}
    for given in map(Path, paths):
        if given.is_dir():
            inside = sorted(
                p for p in given.iterdir() if p.suffix.lower() == ".csv" and p.is_file()
            )
            if not inside:
                raise FileNotFoundError(f"{given}: folder holds no .csv files")
        elif given.is_file():
            inside = [given]
        else:
            raise FileNotFoundError(f"{given}: no such file or folder")
        for path in inside:
            found.setdefault(path.resolve(), path)  # a file named twice is read once
    return list(found.values())


def _count_lines(path: Path) -> int:
    lines = 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 24):
            lines += block.count(b"\n")
    return lines + 1  # a last line without a newline


class _LabelCodes:
    """Canonical labels as small integer codes, shared by every file of one load."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._code: dict[str, int] = {}
        self._raw: dict[str, int] = {}

    def code(self, canonical: str) -> int:
        if canonical not in self._code:
            self._code[canonical] = len(self.names)
            self.names.append(canonical)
        return self._code[canonical]

    def code_of(self, canonical: str) -> int:
        """The code of a label met so far; -2 (no row's code) for one not met."""
        return self._code.get(canonical, -2)

    def codes(self, column: pd.Series) -> np.ndarray:
        """Codes of a categorical label column; -1 where the label is empty."""
        for raw in column.cat.categories:
            if raw not in self._raw:
                unlabelled = raw.strip() in columns.UNLABELLED_VALUES  # CICFlowMeter's output
                self._raw[raw] = self.code(UNLABELLED if unlabelled else canonical_label(raw))
        lookup = np.array([*(self._raw[raw] for raw in column.cat.categories), -1], np.int16)
        codes: np.ndarray = lookup[column.cat.codes.to_numpy()]  # missing (-1) picks the last -1
        return codes


def _chunks(path: Path, layout: ColumnLayout) -> Iterator[pd.DataFrame]:
    columns = sorted(set(layout.feature_columns))
    dtypes: dict[int, object] = dict.fromkeys(columns, np.float64)
    if layout.label_column is not None:
        columns.append(layout.label_column)
        dtypes[layout.label_column] = "category"
    # Typed columns: floats parse straight into float64 (`Infinity`, `NaN`, `51885.0` included)
    # and labels into categories, so a chunk never holds per-cell Python strings.
    try:
        yield from pd.read_csv(
            path,
            header=None,
            skiprows=1,
            usecols=columns,
            dtype=dtypes,
            chunksize=CHUNK_ROWS,
            encoding="utf-8",
            # The original files hold a lone cp1252 dash byte in some labels: decode it as
            # U+FFFD and let canonical_label match the label by its letters.
            encoding_errors="replace",
            engine="c",
        )
    except pd.errors.EmptyDataError:
        return  # a header and no rows: nothing to read


@dataclass
class _Matrix:
    """The preallocated output of one load, filled file by file."""

    features: np.ndarray
    codes: np.ndarray
    source_index: np.ndarray
    filled: int = 0

    def append(self, block: np.ndarray, codes: np.ndarray, source: int) -> None:
        end = self.filled + len(block)
        self.features[self.filled : end] = block
        self.codes[self.filled : end] = codes
        self.source_index[self.filled : end] = source
        self.filled = end


def _read_file(
    path: Path, layout: ColumnLayout, source: int, labels: _LabelCodes, out: _Matrix
) -> SourceFile:
    log.info(
        "reading %s (%s layout, %s names, %.1f MB)",
        path,
        layout.layout,
        layout.naming,
        path.stat().st_size / 1e6,
    )
    seen = kept = blank = unlabelled = 0
    next_report = 10 * CHUNK_ROWS
    try:
        for chunk in _chunks(path, layout):
            block = chunk[list(layout.feature_columns)].to_numpy(dtype=np.float64)
            if layout.label_column is None:
                codes = np.full(len(block), labels.code(UNLABELLED), np.int16)
            else:
                codes = labels.codes(chunk[layout.label_column])
            no_label = codes < 0
            # Some original files end in thousands of lines of bare commas: skip and count them.
            empty = np.isnan(block).all(axis=1) & (no_label | (layout.label_column is None))
            if (no_label & ~empty).any():
                row = seen + int(np.argmax(no_label & ~empty)) + 1
                raise CsvFormatError(f"{path}: data row {row} has no label")
            seen += len(block)
            if empty.any():
                blank += int(empty.sum())
                block, codes = block[~empty], codes[~empty]
            out.append(block, codes, source)
            kept += len(block)
            unlabelled += int(np.count_nonzero(codes == labels.code_of(UNLABELLED)))
            if kept >= next_report:
                log.info("  %d rows", kept)
                next_report += 10 * CHUNK_ROWS
    except UnknownLabelError as error:
        raise UnknownLabelError(f"{path}: {error}") from error
    except CsvFormatError:
        raise
    except (ValueError, pd.errors.ParserError) as error:
        # pandas names the bad value but not the row: give the chunk it was found in.
        raise CsvFormatError(
            f"{path}: data rows {seen + 1} to {seen + CHUNK_ROWS}: {error}"
        ) from error
    log.info("  %d rows from %s", kept, path.name)
    return SourceFile(
        path=str(path),
        layout=layout.layout,
        naming=layout.naming,
        rows=kept,
        labelled=layout.label_column is not None and not unlabelled,
        restored_columns=layout.restored,
        blank_rows_skipped=blank,
    )


def load_flows(paths: Sequence[str | os.PathLike[str]]) -> Flows:
    """Read CICIDS2017 CSV files and folders (MachineLearningCVE or TrafficLabelling layout),
    or flow files with CICFlowMeter's or CSE-CIC-IDS2018's column names (`flows.columns`).

    Values are kept as written (Infinity and NaN included). Lines with every field empty are
    skipped and counted. A file without a Label column, or whose labels are CICFlowMeter's
    placeholder `NeedManualLabel`, loads with every label `UNLABELLED`.
    Raises `MissingColumnsError` for a file that lacks feature columns, `AmbiguousColumnsError`
    for one whose header names a column twice, `UnknownLabelError` for a label that is no
    CICIDS2017 class, `CsvFormatError` for a malformed file.
    """
    files = csv_files(paths)
    layouts = []
    for path in files:
        header = read_header(path)
        if not header:
            raise CsvFormatError(f"{path}: empty file, expected a CICIDS2017 header line")
        layouts.append(locate_columns(header, str(path)))
    # One allocation sized from the line counts: no growing and no concatenation of parts (pages
    # past the rows actually read are never touched, so they cost no memory).
    capacity = sum(_count_lines(path) for path in files)
    out = _Matrix(
        features=np.empty((capacity, N_FEATURES), dtype=np.float64),
        codes=np.empty(capacity, dtype=np.int16),
        source_index=np.empty(capacity, dtype=np.int32),
    )
    labels = _LabelCodes()
    details = [
        _read_file(path, layout, source, labels, out)
        for source, (path, layout) in enumerate(zip(files, layouts, strict=True))
    ]
    names = np.array([*labels.names, UNLABELLED], dtype=object)
    return Flows(
        features=out.features[: out.filled],
        labels=names[out.codes[: out.filled]],
        sources=tuple(str(path) for path in files),
        source_index=out.source_index[: out.filled],
        files=tuple(details),
    )


@dataclass(frozen=True)
class CleaningCounts:
    """What the training's cleaning changed."""

    rows_with_nan_dropped: int
    infinite_values_zeroed: int


def clean_flows_counted(flows: Flows) -> tuple[Flows, CleaningCounts]:
    """`clean_flows`, also telling how many rows it dropped and values it replaced."""
    with_nan = np.isnan(flows.features).any(axis=1)
    cleaned = (
        flows.select(~with_nan)
        if with_nan.any()
        else replace(flows, features=flows.features.copy())
    )
    infinite = np.isinf(cleaned.features)
    cleaned.features[infinite] = 0.0
    return cleaned, CleaningCounts(int(with_nan.sum()), int(infinite.sum()))


def clean_flows(flows: Flows) -> Flows:
    """The existing training's cleaning, exactly: drop rows holding a NaN, then +/-inf -> 0."""
    return clean_flows_counted(flows)[0]
