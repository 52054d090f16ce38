"""Where an input keeps the model features and the identifier columns, found from its header.

Column names compare without whitespace (flow extractors write ` Flow Duration`); a repeated name
gets pandas' suffixes (`.1`, `.2`), as the CICIDS2017 files write `Fwd Header Length` twice and the
second is the feature `Fwd Header Length.1`. Readers name the columns `c0`, `c1`, ... by position,
so a header with repeats (or blanks) never confuses them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from server.codecs.features import name_list, normalise

from score.errors import ScoreError

# Copied into the output when an input has them, in this order and under these names.
IDENTIFIERS: tuple[str, ...] = (
    "Flow ID",
    "Source IP",
    "Source Port",
    "Destination IP",
    "Destination Port",
    "Protocol",
    "Timestamp",
    "Label",
)


def column_keys(header: Sequence[str]) -> list[str]:
    """Each header cell's lookup key: whitespace and a BOM removed, repeats suffixed `.1`, ..."""
    keys: list[str] = []
    seen: set[str] = set()
    for cell in header:
        name = normalise(cell.replace("\ufeff", ""))
        key, repeat = name, 0
        while key in seen:
            repeat += 1
            key = f"{name}.{repeat}"
        seen.add(key)
        keys.append(key)
    return keys


def column_name(position: int) -> str:
    """The name a reader gives the column at `position`."""
    return f"c{position}"


@dataclass(frozen=True, slots=True)
class Layout:
    """One input's columns: how many, where each feature is, which identifiers it has."""

    source: str
    header: tuple[str, ...]
    features: tuple[int, ...]  # the position of each feature, in the order asked for
    identifiers: tuple[tuple[str, int], ...]  # (identifier, position), in IDENTIFIERS order

    @property
    def width(self) -> int:
        return len(self.header)

    @property
    def column_names(self) -> list[str]:
        return [column_name(position) for position in range(self.width)]

    @property
    def feature_columns(self) -> list[str]:
        return [column_name(position) for position in self.features]


def locate(header: Sequence[str], feature_names: Sequence[str], source: str) -> Layout:
    """Find every feature and identifier in `header`; refuse a header that lacks a feature."""
    if not any(cell.strip() for cell in header):
        raise ScoreError(f"{source}: no header line (the first line must name the columns)")
    positions: dict[str, int] = {}
    for position, key in enumerate(column_keys(header)):
        positions.setdefault(key, position)
    features: list[int] = []
    missing: list[str] = []
    for feature in feature_names:
        found = positions.get(normalise(feature))
        if found is None:
            missing.append(feature)
        else:
            features.append(found)
    if missing:
        raise ScoreError(
            f"{source}: missing {len(missing)} of the {len(feature_names)} feature columns the "
            f"model needs: {name_list(missing)}"
        )
    identifiers = tuple(
        (name, positions[normalise(name)]) for name in IDENTIFIERS if normalise(name) in positions
    )
    return Layout(source, tuple(header), tuple(features), identifiers)
