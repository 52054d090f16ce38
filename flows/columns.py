"""Flow record columns in three namings, and how a header's names are found in any of them.

One table (`COLUMNS`) names every column of a flow record as each of three tools writes it:

- `cicids2017`: the CICIDS2017 CSV files (`MachineLearningCVE`, `TrafficLabelling`), whose names
  the models were trained on and the project's canonical names (`models.features.FEATURE_NAMES`
  derives from this table). The files write `Fwd Header Length` twice; the second is
  `Fwd Header Length.1`, as pandas names a repeat.
- `cicflowmeter`: today's CICFlowMeter, as `cfm` writes it: the names and the 84-column order of
  `FlowFeature.java` in the reference (`../shared/reference/cicflowmeter`), checked against the
  header of every `../shared/data/pcaps/*.cicflowmeter.csv`.
- `cicids2018`: CSE-CIC-IDS2018's `*_TrafficForML_CICFlowMeter.csv` files, whose abbreviations
  (`Tot Fwd Pkts`, `Init Fwd Win Byts`, ...) were taken from two independent copies of that
  dataset's header: the column list in the README of github.com/viktor53/diploma-thesis (80
  columns; one file, Tuesday 20-02-2018, adds `Flow ID, Src IP, Src Port, Dst IP` in front) and
  the header line plus a real row (Friday 02-03-2018) quoted in a comment of a public repository,
  found with the search tool. It keeps CICIDS2017's `CWE Flag Count` typo, which today's
  CICFlowMeter spells `CWR Flag Count`.

Neither CICFlowMeter's nor CSE-CIC-IDS2018's files carry the second `Fwd Header Length`: it is
the same value, restored from `Fwd Header Length` (`RESTORED_FROM`), by every reader.

Names compare ignoring whitespace (extractors write ` Flow Duration`) and case (the namings
themselves disagree on it: `FWD Init Win Bytes`, `Total Bwd packets`, `Init_Win_bytes_forward`;
no two columns of the table differ only in case or spacing, which `_KEYS` checks on import).

This module is the flow room's and imports nothing beyond the standard library: the server
imports it, and the serving image carries no packet or training libraries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

IDENTIFIER = "identifier"
FEATURE = "feature"
LABEL = "label"

CICIDS2017 = "cicids2017"
CICFLOWMETER = "cicflowmeter"
CICIDS2018 = "cicids2018"
NAMINGS: tuple[str, ...] = (CICIDS2017, CICFLOWMETER, CICIDS2018)
# What each naming is, for messages and the documentation.
NAMING_TITLES: dict[str, str] = {
    CICIDS2017: "CICIDS2017",
    CICFLOWMETER: "CICFlowMeter (cfm)",
    CICIDS2018: "CSE-CIC-IDS2018",
}


class Column(NamedTuple):
    """One column of a flow record, named in each naming (None: that naming has no such column)."""

    role: str  # IDENTIFIER, FEATURE or LABEL
    cicids2017: str
    cicflowmeter: str | None
    cicids2018: str | None


_I, _F, _L = IDENTIFIER, FEATURE, LABEL

# In the order of CICIDS2017's TrafficLabelling files, which is CICFlowMeter's order with the
# repeated `Fwd Header Length` and CSE-CIC-IDS2018's order too. The features, in this order, are
# the models' 78 inputs.
COLUMNS: tuple[Column, ...] = (
    Column(_I, "Flow ID", "Flow ID", "Flow ID"),
    Column(_I, "Source IP", "Src IP", "Src IP"),
    Column(_I, "Source Port", "Src Port", "Src Port"),
    Column(_I, "Destination IP", "Dst IP", "Dst IP"),
    Column(_F, "Destination Port", "Dst Port", "Dst Port"),
    Column(_I, "Protocol", "Protocol", "Protocol"),
    Column(_I, "Timestamp", "Timestamp", "Timestamp"),
    Column(_F, "Flow Duration", "Flow Duration", "Flow Duration"),
    Column(_F, "Total Fwd Packets", "Total Fwd Packet", "Tot Fwd Pkts"),
    Column(_F, "Total Backward Packets", "Total Bwd packets", "Tot Bwd Pkts"),
    Column(_F, "Total Length of Fwd Packets", "Total Length of Fwd Packet", "TotLen Fwd Pkts"),
    Column(_F, "Total Length of Bwd Packets", "Total Length of Bwd Packet", "TotLen Bwd Pkts"),
    Column(_F, "Fwd Packet Length Max", "Fwd Packet Length Max", "Fwd Pkt Len Max"),
    Column(_F, "Fwd Packet Length Min", "Fwd Packet Length Min", "Fwd Pkt Len Min"),
    Column(_F, "Fwd Packet Length Mean", "Fwd Packet Length Mean", "Fwd Pkt Len Mean"),
    Column(_F, "Fwd Packet Length Std", "Fwd Packet Length Std", "Fwd Pkt Len Std"),
    Column(_F, "Bwd Packet Length Max", "Bwd Packet Length Max", "Bwd Pkt Len Max"),
    Column(_F, "Bwd Packet Length Min", "Bwd Packet Length Min", "Bwd Pkt Len Min"),
    Column(_F, "Bwd Packet Length Mean", "Bwd Packet Length Mean", "Bwd Pkt Len Mean"),
    Column(_F, "Bwd Packet Length Std", "Bwd Packet Length Std", "Bwd Pkt Len Std"),
    Column(_F, "Flow Bytes/s", "Flow Bytes/s", "Flow Byts/s"),
    Column(_F, "Flow Packets/s", "Flow Packets/s", "Flow Pkts/s"),
    Column(_F, "Flow IAT Mean", "Flow IAT Mean", "Flow IAT Mean"),
    Column(_F, "Flow IAT Std", "Flow IAT Std", "Flow IAT Std"),
    Column(_F, "Flow IAT Max", "Flow IAT Max", "Flow IAT Max"),
    Column(_F, "Flow IAT Min", "Flow IAT Min", "Flow IAT Min"),
    Column(_F, "Fwd IAT Total", "Fwd IAT Total", "Fwd IAT Tot"),
    Column(_F, "Fwd IAT Mean", "Fwd IAT Mean", "Fwd IAT Mean"),
    Column(_F, "Fwd IAT Std", "Fwd IAT Std", "Fwd IAT Std"),
    Column(_F, "Fwd IAT Max", "Fwd IAT Max", "Fwd IAT Max"),
    Column(_F, "Fwd IAT Min", "Fwd IAT Min", "Fwd IAT Min"),
    Column(_F, "Bwd IAT Total", "Bwd IAT Total", "Bwd IAT Tot"),
    Column(_F, "Bwd IAT Mean", "Bwd IAT Mean", "Bwd IAT Mean"),
    Column(_F, "Bwd IAT Std", "Bwd IAT Std", "Bwd IAT Std"),
    Column(_F, "Bwd IAT Max", "Bwd IAT Max", "Bwd IAT Max"),
    Column(_F, "Bwd IAT Min", "Bwd IAT Min", "Bwd IAT Min"),
    Column(_F, "Fwd PSH Flags", "Fwd PSH Flags", "Fwd PSH Flags"),
    Column(_F, "Bwd PSH Flags", "Bwd PSH Flags", "Bwd PSH Flags"),
    Column(_F, "Fwd URG Flags", "Fwd URG Flags", "Fwd URG Flags"),
    Column(_F, "Bwd URG Flags", "Bwd URG Flags", "Bwd URG Flags"),
    Column(_F, "Fwd Header Length", "Fwd Header Length", "Fwd Header Len"),
    Column(_F, "Bwd Header Length", "Bwd Header Length", "Bwd Header Len"),
    Column(_F, "Fwd Packets/s", "Fwd Packets/s", "Fwd Pkts/s"),
    Column(_F, "Bwd Packets/s", "Bwd Packets/s", "Bwd Pkts/s"),
    Column(_F, "Min Packet Length", "Packet Length Min", "Pkt Len Min"),
    Column(_F, "Max Packet Length", "Packet Length Max", "Pkt Len Max"),
    Column(_F, "Packet Length Mean", "Packet Length Mean", "Pkt Len Mean"),
    Column(_F, "Packet Length Std", "Packet Length Std", "Pkt Len Std"),
    Column(_F, "Packet Length Variance", "Packet Length Variance", "Pkt Len Var"),
    Column(_F, "FIN Flag Count", "FIN Flag Count", "FIN Flag Cnt"),
    Column(_F, "SYN Flag Count", "SYN Flag Count", "SYN Flag Cnt"),
    Column(_F, "RST Flag Count", "RST Flag Count", "RST Flag Cnt"),
    Column(_F, "PSH Flag Count", "PSH Flag Count", "PSH Flag Cnt"),
    Column(_F, "ACK Flag Count", "ACK Flag Count", "ACK Flag Cnt"),
    Column(_F, "URG Flag Count", "URG Flag Count", "URG Flag Cnt"),
    Column(_F, "CWE Flag Count", "CWR Flag Count", "CWE Flag Count"),
    Column(_F, "ECE Flag Count", "ECE Flag Count", "ECE Flag Cnt"),
    Column(_F, "Down/Up Ratio", "Down/Up Ratio", "Down/Up Ratio"),
    Column(_F, "Average Packet Size", "Average Packet Size", "Pkt Size Avg"),
    Column(_F, "Avg Fwd Segment Size", "Fwd Segment Size Avg", "Fwd Seg Size Avg"),
    Column(_F, "Avg Bwd Segment Size", "Bwd Segment Size Avg", "Bwd Seg Size Avg"),
    Column(_F, "Fwd Header Length.1", None, None),
    Column(_F, "Fwd Avg Bytes/Bulk", "Fwd Bytes/Bulk Avg", "Fwd Byts/b Avg"),
    Column(_F, "Fwd Avg Packets/Bulk", "Fwd Packet/Bulk Avg", "Fwd Pkts/b Avg"),
    Column(_F, "Fwd Avg Bulk Rate", "Fwd Bulk Rate Avg", "Fwd Blk Rate Avg"),
    Column(_F, "Bwd Avg Bytes/Bulk", "Bwd Bytes/Bulk Avg", "Bwd Byts/b Avg"),
    Column(_F, "Bwd Avg Packets/Bulk", "Bwd Packet/Bulk Avg", "Bwd Pkts/b Avg"),
    Column(_F, "Bwd Avg Bulk Rate", "Bwd Bulk Rate Avg", "Bwd Blk Rate Avg"),
    Column(_F, "Subflow Fwd Packets", "Subflow Fwd Packets", "Subflow Fwd Pkts"),
    Column(_F, "Subflow Fwd Bytes", "Subflow Fwd Bytes", "Subflow Fwd Byts"),
    Column(_F, "Subflow Bwd Packets", "Subflow Bwd Packets", "Subflow Bwd Pkts"),
    Column(_F, "Subflow Bwd Bytes", "Subflow Bwd Bytes", "Subflow Bwd Byts"),
    Column(_F, "Init_Win_bytes_forward", "FWD Init Win Bytes", "Init Fwd Win Byts"),
    Column(_F, "Init_Win_bytes_backward", "Bwd Init Win Bytes", "Init Bwd Win Byts"),
    Column(_F, "act_data_pkt_fwd", "Fwd Act Data Pkts", "Fwd Act Data Pkts"),
    Column(_F, "min_seg_size_forward", "Fwd Seg Size Min", "Fwd Seg Size Min"),
    Column(_F, "Active Mean", "Active Mean", "Active Mean"),
    Column(_F, "Active Std", "Active Std", "Active Std"),
    Column(_F, "Active Max", "Active Max", "Active Max"),
    Column(_F, "Active Min", "Active Min", "Active Min"),
    Column(_F, "Idle Mean", "Idle Mean", "Idle Mean"),
    Column(_F, "Idle Std", "Idle Std", "Idle Std"),
    Column(_F, "Idle Max", "Idle Max", "Idle Max"),
    Column(_F, "Idle Min", "Idle Min", "Idle Min"),
    Column(_L, "Label", "Label", "Label"),
)

# The 78 model features, identifiers and label, by their canonical (CICIDS2017) names.
FEATURES: tuple[str, ...] = tuple(c.cicids2017 for c in COLUMNS if c.role == FEATURE)
IDENTIFIERS: tuple[str, ...] = tuple(c.cicids2017 for c in COLUMNS if c.role == IDENTIFIER)
LABEL_COLUMN = "Label"
# The Label CICFlowMeter writes for every flow (FlowFeature.java): no label at all.
UNLABELLED_VALUES: frozenset[str] = frozenset({"NeedManualLabel"})
# A feature that a file may lack, restored from the column that holds the same value: CICIDS2017
# writes `Fwd Header Length` twice; the other namings write it once.
RESTORED_FROM: dict[str, str] = {"Fwd Header Length.1": "Fwd Header Length"}
# All CSE-CIC-IDS2018 files but one start at `Dst Port`, without these four identifiers.
CICIDS2018_LEADING_IDENTIFIERS: tuple[str, ...] = IDENTIFIERS[:4]


def key(name: str) -> str:
    """The form in which names compare: no whitespace (or byte-order mark), case folded."""
    return "".join(name.replace("\ufeff", "").split()).casefold()


def _spellings(column: Column) -> tuple[str, ...]:
    names = (column.cicids2017, column.cicflowmeter, column.cicids2018)
    return tuple(dict.fromkeys(name for name in names if name is not None))


def _keys() -> dict[str, Column]:
    keys: dict[str, Column] = {}
    for column in COLUMNS:
        for name in _spellings(column):
            other = keys.setdefault(key(name), column)
            if other is not column:
                raise AssertionError(f"{name!r} names both {other} and {column}")
    return keys


_KEYS = _keys()


def canonical(name: str) -> str | None:
    """The CICIDS2017 name of a column named in any naming; None for a name the table lacks."""
    column = _KEYS.get(key(name))
    return None if column is None else column.cicids2017


def name_in(name: str, naming: str) -> str | None:
    """A column (named in any naming) as `naming` names it; None where that naming lacks it."""
    column = _KEYS.get(key(name))
    if column is None:
        raise KeyError(f"{name!r} is no flow column of {', '.join(NAMING_TITLES.values())}")
    found: str | None = getattr(column, _attribute(naming))
    return found


def spellings(name: str) -> tuple[str, ...]:
    """Every naming's name for a column, canonical first; just `name` for one the table lacks."""
    column = _KEYS.get(key(name))
    return (name,) if column is None else _spellings(column)


def header(naming: str, *, label: bool = True) -> tuple[str, ...]:
    """Every column `naming` writes, in its files' order: for `cicflowmeter`, `cfm`'s 84 columns
    exactly; for `cicids2017`, the TrafficLabelling layout's 85, the repeated header named
    `Fwd Header Length.1`; for `cicids2018`, the 84 of its files that carry the identifiers."""
    attribute = _attribute(naming)
    return tuple(
        name
        for column in COLUMNS
        if (name := getattr(column, attribute)) is not None and (label or column.role != LABEL)
    )


def feature_names(naming: str) -> tuple[str, ...]:
    """The model features `naming` writes, in model order (77 where `Fwd Header Length.1` is
    restored rather than written)."""
    attribute = _attribute(naming)
    return tuple(
        name
        for column in COLUMNS
        if column.role == FEATURE and (name := getattr(column, attribute)) is not None
    )


def _attribute(naming: str) -> str:
    if naming not in NAMINGS:
        raise ValueError(f"unknown naming {naming!r}: one of {', '.join(NAMINGS)}")
    return naming


def naming_of(names: Iterable[str]) -> str:
    """The naming a header is written in: the one that spells most of its columns (CICIDS2017's
    on a tie, so a header of names common to all is read as the models' own)."""
    keys = {key(name) for name in names}
    counts = {
        naming: sum(
            1
            for column in COLUMNS
            if (name := getattr(column, naming)) is not None and key(name) in keys
        )
        for naming in NAMINGS
    }
    return max(NAMINGS, key=lambda naming: counts[naming])


class AmbiguousColumnsError(ValueError):
    """Two columns of one header are the same column (say `Dst Port` and `Destination Port`)."""


class NameLookup:
    """Names (a model's features, say) found by any spelling of any naming the table knows.

    A name the table knows is found by each of its spellings; any other name by itself. Both
    compare as `key` does; the exact spellings are tried first, a dict lookup each.
    """

    __slots__ = ("_exact", "_keyed", "count", "names", "restore")

    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(names)
        self.count = len(self.names)
        self._exact: dict[str, int] = {}
        self._keyed: dict[str, int] = {}
        for index, name in enumerate(self.names):
            for spelling in spellings(name):
                self._exact.setdefault(spelling, index)
                other = self._keyed.setdefault(key(spelling), index)
                if other != index:
                    raise ValueError(
                        f"names {self.names[other]!r} and {name!r} are the same column "
                        "(names compare ignoring whitespace and case, in any naming)"
                    )
        position = {canonical(name) or name: i for i, name in enumerate(self.names)}
        # (missing name, name it is restored from), as positions in `names`
        self.restore: tuple[tuple[int, int], ...] = tuple(
            (position[target], position[source])
            for target, source in RESTORED_FROM.items()
            if target in position and source in position
        )

    def find(self, name: str) -> int | None:
        """The position in `names` of the name `name` spells, or None."""
        found = self._exact.get(name)
        return self._keyed.get(key(name)) if found is None else found

    def locate(self, header: Sequence[str]) -> tuple[list[int | None], tuple[str, ...]]:
        """Where each of `names` sits in `header` (None: not there), and the names restored from
        another column. A name written again gets pandas' suffix (the second `Fwd Header Length`
        is `Fwd Header Length.1`). Raises `AmbiguousColumnsError` when two columns are one of
        `names`."""
        positions: list[int | None] = [None] * self.count
        repeats: dict[str, int] = {}
        for position, cell in enumerate(header):
            cell_key = key(cell)
            repeat = repeats.get(cell_key, 0)
            repeats[cell_key] = repeat + 1
            index = self._keyed.get(f"{cell_key}.{repeat}" if repeat else cell_key)
            if index is None and repeat:
                index = self._keyed.get(cell_key)  # a repeat that is no column of its own
            if index is None:
                continue
            earlier = positions[index]
            if earlier is not None:
                raise AmbiguousColumnsError(
                    f"columns {earlier + 1} ({header[earlier].strip()!r}) and {position + 1} "
                    f"({cell.strip()!r}) are both {self.names[index]!r}: keep one"
                )
            positions[index] = position
        restored = []
        for target, source in self.restore:
            if positions[target] is None and (found := positions[source]) is not None:
                positions[target] = found
                restored.append(self.names[target])
        return positions, tuple(restored)
