"""CICIDS2017 CSV layouts: where the 78 features and the label sit in a file's header."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from models.features import FEATURE_NAMES

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
