"""CICIDS2017 CSV layouts: where the 78 features and the label sit in a file's header."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import numpy as np
import pandas as pd

from models.features import FEATURE_NAMES, FRACTIONAL_FEATURES, INTEGER_FEATURES

if TYPE_CHECKING:
    from models.dataset import Flows

LABEL_COLUMN = "Label"
MACHINE_LEARNING_CVE = "MachineLearningCVE"
TRAFFIC_LABELLING = "TrafficLabelling"
# TrafficLabelling files carry these before the features; no model uses them.
IDENTIFIER_COLUMNS: tuple[str, ...] = (
    "Flow ID",
    "Source IP",
    "Source Port",
    "Destination IP",
    "Protocol",
    "Timestamp",
)
# The dataset repeats this column; pandas (and the models) call the second one "... .1".
DUPLICATED_FEATURE = "Fwd Header Length"
RESTORABLE: dict[str, str] = {"Fwd Header Length.1": DUPLICATED_FEATURE}

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
        )


@dataclass(frozen=True)
class ColumnLayout:
    """Where one file keeps the model features and the label."""

    layout: str
    # column index of each feature, in model order; a restored feature points at its source
    feature_columns: tuple[int, ...]
    label_column: int | None
    restored: tuple[str, ...]


def read_header(path: Path) -> list[str]:
    """The first line of a CSV file as column names (BOM removed, nothing else touched)."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        return next(csv.reader(handle), [])


def normalise_header(names: Sequence[str]) -> list[str]:
    """Strip the stray spaces and name repeats like pandas does (`X`, `X.1`, `X.2`, ...)."""
    seen: dict[str, int] = {}
    result = []
    for raw in names:
        name = raw.strip().lstrip("\ufeff").strip()
        count = seen.get(name, 0)
        seen[name] = count + 1
        result.append(name if count == 0 else f"{name}.{count}")
    return result


def locate_columns(names: Sequence[str], path: str) -> ColumnLayout:
    """Map a file's header onto the model features; refuse a file that lacks any of them."""
    position = {name: i for i, name in enumerate(normalise_header(names))}
    restored = []
    columns = []
    missing = []
    for feature in FEATURE_NAMES:
        if feature in position:
            columns.append(position[feature])
        elif RESTORABLE.get(feature) in position:
            # In the dataset both Fwd Header Length columns hold the same values.
            columns.append(position[RESTORABLE[feature]])
            restored.append(feature)
        else:
            missing.append(feature)
    if missing:
        raise MissingColumnsError(path, missing)
    layout = (
        TRAFFIC_LABELLING
        if any(name in position for name in IDENTIFIER_COLUMNS)
        else MACHINE_LEARNING_CVE
    )
    return ColumnLayout(
        layout=layout,
        feature_columns=tuple(columns),
        label_column=position.get(LABEL_COLUMN),
        restored=tuple(restored),
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
