"""Where an input keeps the model features and the identifier columns, found from its header.

Names are found in any naming of `flows.columns` (CICIDS2017's, CICFlowMeter's, CSE-CIC-IDS2018's),
ignoring whitespace and case; a repeated name gets pandas' suffix (the CICIDS2017 files write
`Fwd Header Length` twice, the second is `Fwd Header Length.1`), and a file that writes it once
(the other namings) has the second restored from the first, as every reader of the project does.
Readers name the columns `c0`, `c1`, ... by position, so a header's repeats and blanks never
confuse them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flows.columns import IDENTIFIERS as FLOW_IDENTIFIERS
from flows.columns import LABEL_COLUMN, AmbiguousColumnsError, NameLookup, key
from score.errors import ScoreError
from server.codecs.features import name_list

# Copied into the output when an input has them, in this order, under their CICIDS2017 names.
IDENTIFIERS: tuple[str, ...] = (*FLOW_IDENTIFIERS[:4], "Destination Port", *FLOW_IDENTIFIERS[4:])
IDENTIFIERS += (LABEL_COLUMN,)
_IDENTIFIER_LOOKUP = NameLookup(IDENTIFIERS)


def column_keys(header: Sequence[str]) -> list[str]:
    """Each header cell's comparison key (`flows.columns.key`), repeats suffixed `.1`, ..."""
    keys: list[str] = []
    seen: set[str] = set()
    for cell in header:
        name = key(cell)
        found, repeat = name, 0
        while found in seen:
            repeat += 1
            found = f"{name}.{repeat}"
        seen.add(found)
        keys.append(found)
    return keys


def column_name(position: int) -> str:
    """The name a reader gives the column at `position`."""
    return f"c{position}"


@dataclass(frozen=True, slots=True)
class Layout:
    """One input's columns: its header, where each feature is, which identifiers it has."""

    source: str
    header: tuple[str, ...]
    features: tuple[int, ...]  # the position of each feature, in the order asked for
    identifiers: tuple[tuple[str, int], ...]  # (identifier, position), in IDENTIFIERS order
    restored: tuple[str, ...] = ()  # features read from the column holding the same value

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
    try:
        positions, restored = NameLookup(feature_names).locate(header)
        identifiers, _ = _IDENTIFIER_LOOKUP.locate(header)
    except AmbiguousColumnsError as error:
        raise ScoreError(f"{source}: {error}") from None
    missing = [name for name, at in zip(feature_names, positions, strict=True) if at is None]
    if missing:
        raise ScoreError(
            f"{source}: missing {len(missing)} of the {len(feature_names)} feature columns the "
            f"model needs: {name_list(missing)}"
        )
    features = tuple(at for at in positions if at is not None)
    found = tuple(
        (name, at) for name, at in zip(IDENTIFIERS, identifiers, strict=True) if at is not None
    )
    return Layout(source, tuple(header), features, found, restored)
