"""Flow CSV layouts: where the 78 features and the label sit in a file's header, in any naming
of `flows.columns` (CICIDS2017's, CICFlowMeter's, CSE-CIC-IDS2018's)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import numpy as np
import pandas as pd

from flows import columns
from models.features import FEATURE_NAMES, FRACTIONAL_FEATURES, INTEGER_FEATURES

if TYPE_CHECKING:
    from models.dataset import Flows

LABEL_COLUMN = columns.LABEL_COLUMN
MACHINE_LEARNING_CVE = "MachineLearningCVE"
TRAFFIC_LABELLING = "TrafficLabelling"
# TrafficLabelling files (and CICFlowMeter's) carry these before the features; no model uses them.
IDENTIFIER_COLUMNS: tuple[str, ...] = columns.IDENTIFIERS
# The dataset repeats this column; pandas (and the models) call the second one "... .1".
DUPLICATED_FEATURE = columns.RESTORED_FROM["Fwd Header Length.1"]
RESTORABLE: dict[str, str] = columns.RESTORED_FROM
# The features and the label, found in a header of any naming the table knows.
_WANTED = columns.NameLookup((*FEATURE_NAMES, LABEL_COLUMN))
_IDENTIFIERS = columns.NameLookup(IDENTIFIER_COLUMNS)

# The header line of the original MachineLearningCVE files, exactly as CICFlowMeter wrote it:
# the stray leading spaces and the repeated "Fwd Header Length" are part of the format.
MACHINE_LEARNING_CVE_HEADER: tuple[str, ...] = tuple(
    (" " if i not in {4, 10, 14, 20, 25, 30, 36, 43, 56, 61, 62, 66, 70, 74} else "")
    + ("Fwd Header Length" if name == "Fwd Header Length.1" else name)
    for i, name in enumerate((*FEATURE_NAMES, LABEL_COLUMN))
)


class MissingColumnsError(ValueError):
    """A CSV file lacks feature columns the models need."""

    def __init__(self, path: str, missing: Sequence[str]) -> None:
        self.path = path
        self.missing = tuple(missing)
        super().__init__(
            f"{path}: missing {len(self.missing)} of the {len(FEATURE_NAMES)} feature columns: "
            + ", ".join(repr(name) for name in self.missing)
            + " (CICIDS2017's names; CICFlowMeter's and CSE-CIC-IDS2018's are read too)"
        )


@dataclass(frozen=True)
class ColumnLayout:
    """Where one file keeps the model features and the label."""

    layout: str
    naming: str  # a naming of flows.columns: cicids2017, cicflowmeter or cicids2018
    # column index of each feature, in model order; a restored feature points at its source
    feature_columns: tuple[int, ...]
    label_column: int | None
    restored: tuple[str, ...]


def read_header(path: Path) -> list[str]:
    """The first line of a CSV file as column names (BOM removed, nothing else touched)."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        return next(csv.reader(handle), [])


class AmbiguousColumnsError(columns.AmbiguousColumnsError):
    """A CSV file's header names one column twice (say `Dst Port` and `Destination Port`)."""


def locate_columns(names: Sequence[str], path: str) -> ColumnLayout:
    """Map a file's header, in any naming of `flows.columns`, onto the model features; refuse a
    file that lacks any of them or names one twice."""
    try:
        positions, restored = _WANTED.locate(names)
        identifiers, _ = _IDENTIFIERS.locate(names)
    except columns.AmbiguousColumnsError as error:
        raise AmbiguousColumnsError(f"{path}: {error}") from None
    *features, label = positions
    missing = [name for name, found in zip(FEATURE_NAMES, features, strict=True) if found is None]
    if missing:
        raise MissingColumnsError(path, missing)
    layout = (
        TRAFFIC_LABELLING
        if any(found is not None for found in identifiers)
        else MACHINE_LEARNING_CVE
    )
    return ColumnLayout(
        layout=layout,
        naming=columns.naming_of(names),
        feature_columns=tuple(found for found in features if found is not None),
        label_column=label,
        restored=restored,
    )


def _text(values: np.ndarray, float_format: str | None) -> list[str]:
    # CICFlowMeter's spelling of the non-finite rates.
    def one(value: float) -> str:
        if np.isnan(value):
            return "NaN"
        if np.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value) if float_format is None else float_format % value

    return [one(float(value)) for value in values]


def write_csv(
    flows: Flows,
    handle: TextIO,
    *,
    header: bool = True,
    float_format: str | None = None,
    line_ending: str = "\n",
) -> None:
    """Write flows to an open text file in the MachineLearningCVE layout.

    The header is the original one (stray spaces, repeated `Fwd Header Length`), whole-number
    features are written as integers, non-finite rates as `Infinity`/`NaN`, and fractions
    exactly (`repr`) unless `float_format` (say `"%.10g"`, about the dataset's precision) is given.
    """
    frame = pd.DataFrame(
        {
            name: (
                np.rint(flows.features[:, i]).astype(np.int64)
                if name in INTEGER_FEATURES
                else flows.features[:, i]
            )
            for i, name in enumerate(FEATURE_NAMES)
        }
    )
    for name in FRACTIONAL_FEATURES:
        if not np.isfinite(frame[name].to_numpy()).all():
            frame[name] = _text(frame[name].to_numpy(), float_format)
    frame[LABEL_COLUMN] = flows.labels
    frame.to_csv(
        handle,
        header=list(MACHINE_LEARNING_CVE_HEADER) if header else False,
        index=False,
        float_format=float_format,
        lineterminator=line_ending,
    )
