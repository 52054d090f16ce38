"""Flow records as CSV, in CICIDS2017's naming (the default) or exactly as `cfm` writes them.

- `cicids2017`: the TrafficLabelling layout of the CICIDS2017 files (Flow ID, Source IP, Source
  Port, Destination IP, Destination Port, Protocol, Timestamp, then the features with the
  repeated `Fwd Header Length` as `Fwd Header Length.1`), without the Label column: a capture
  to classify has none. The training loader reads it back as unlabelled flows.
- `cicflowmeter`: the reference's 84 columns, names and order, `NeedManualLabel` labels.

Both write every value as the reference's Java code prints it (`88.0`, `1.4212290502793297E7`,
`Infinity`, `NaN`; `0` for a statistic of an empty direction), so a file written with
`cicflowmeter` compares line by line with `cfm`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TextIO

import numpy as np

from flows import columns as naming_table
from flows.javafmt import java_double, java_timestamp
from flows.records import FlowBatch
from flows.stats import Array
from models.features import FEATURE_NAMES

NAMINGS = (naming_table.CICIDS2017, naming_table.CICFLOWMETER)
REFERENCE_LABEL = "NeedManualLabel"

_INDEX = {name: i for i, name in enumerate(FEATURE_NAMES)}
_IDENTIFIERS = (
    "Flow ID",
    "Source IP",
    "Source Port",
    "Destination IP",
    "Destination Port",
    "Protocol",
    "Timestamp",
)

# Features the reference prints as Java doubles (the rest are longs or ints). Some print as the
# int 0 when a guard fails: the statistics of an empty direction or period.
_DOUBLES = frozenset(
    name
    for name in FEATURE_NAMES
    if name.startswith(
        (
            "Total Length of",
            "Fwd Packet Length",
            "Bwd Packet Length",
            "Packet Length",
            "Flow IAT",
            "Fwd IAT",
            "Bwd IAT",
            "Active",
            "Idle",
        )
    )
    or name.endswith(("/s", "Segment Size"))
    or name in {"Min Packet Length", "Max Packet Length", "Down/Up Ratio", "Average Packet Size"}
)
_GUARDS: dict[str, Callable[[Array], Array]] = {}


def _guard(prefix: str, condition: Callable[[Array], Array]) -> None:
    for name in FEATURE_NAMES:
        if name.startswith(prefix) and name in _DOUBLES:
            _GUARDS[name] = condition


_guard("Fwd Packet Length", lambda f: f[:, _INDEX["Total Fwd Packets"]] > 0)
_guard("Bwd Packet Length", lambda f: f[:, _INDEX["Total Backward Packets"]] > 0)
_guard("Fwd IAT", lambda f: f[:, _INDEX["Total Fwd Packets"]] > 1)
_guard("Bwd IAT", lambda f: f[:, _INDEX["Total Backward Packets"]] > 1)
for _name in ("Min Packet Length", "Max Packet Length", "Packet Length"):
    _guard(
        _name,
        lambda f: f[:, _INDEX["Total Fwd Packets"]] + f[:, _INDEX["Total Backward Packets"]] > 0,
    )
# Active and idle periods are recorded only when longer than 0 us: a maximum of 0 means none.
_guard("Active", lambda f: f[:, _INDEX["Active Max"]] > 0)
_guard("Idle", lambda f: f[:, _INDEX["Idle Max"]] > 0)


def header(naming: str, *, labelled: bool = False) -> tuple[str, ...]:
    """The columns a file in `naming` carries, in order; `labelled` adds CICIDS2017's Label
    column (the reference's layout always has one)."""
    if naming not in NAMINGS:
        raise ValueError(f"unknown naming {naming!r}: one of {', '.join(NAMINGS)}")
    return naming_table.header(naming, label=labelled or naming == naming_table.CICFLOWMETER)


# The text of every whole number below 2**16, as a long and as a double: most cells are one.
_SMALL = 1 << 16
_ROWS_A_WRITE = 2048
_PLAIN_LIMIT = 1e7  # Java writes doubles from here on as `d.dddE7`
_EXACT_LIMIT = 2.0**53  # whole doubles below this are integers whose digits repr would write


@cache
def _small_texts(double: bool, separator: str) -> Array:
    """The texts of 0 .. 2**16 - 1, each followed by `separator`, as an object array (built on
    first use: 10 ms a separator)."""
    suffix = (".0" if double else "") + separator
    return np.array([text + suffix for text in map(str, range(_SMALL))], dtype=object)


def _cells(values: Array, double: bool, separator: str) -> Array:
    """The text of each value followed by `separator` (an object array): small whole numbers
    from a table, the rest formatted once per distinct value (a whole number as an integer,
    which is faster than a double's repr and gives the same digits below 2**53)."""
    with np.errstate(invalid="ignore"):
        whole = values.astype(np.int64)  # NaN and infinities cast to garbage, unequal
    # One unsigned comparison tests 0 <= whole < 2**16.
    small = (whole.view(np.uint64) < _SMALL) & (whole == values)
    table = _small_texts(double, separator)
    if small.all():
        return table[whole]
    cells = table[np.where(small, whole, 0)]
    rest = np.flatnonzero(~small)
    if not double:
        cells[rest] = _distinct(whole[rest], _longs, separator)
        return cells
    values, whole = values[rest], whole[rest]
    # Whole doubles Java writes plainly (`-5.0`, `88888.0`) or as `1.2345678E7`.
    exact = (whole == values) & (values > -_PLAIN_LIMIT) & (values < _EXACT_LIMIT)
    if exact.all():
        cells[rest] = _distinct(whole, _whole_doubles, separator)
        return cells
    cells[rest[exact]] = _distinct(whole[exact], _whole_doubles, separator)
    cells[rest[~exact]] = _distinct(values[~exact], _doubles, separator)
    return cells


def _distinct(values: Array, texts: Callable[[Array, str], list[str]], separator: str) -> Array:
    """`texts` of each value followed by `separator`, computed once per distinct value."""
    distinct, inverse = np.unique(values, return_inverse=True)
    return np.array(texts(distinct, separator), dtype=object)[inverse]


def _longs(values: Array, separator: str) -> list[str]:
    return [f"{value}{separator}" for value in values.tolist()]


def _whole_doubles(values: Array, separator: str) -> list[str]:
    """`Double.toString` of whole numbers from -1e7 (exclusive) to 2**53 (exclusive), given as
    int64: `-5.0`, `88888.0`, and from 1e7 on `1.2345678E7`; each followed by `separator`."""
    texts = [f"{value}.0{separator}" for value in values.tolist()]
    for i in np.flatnonzero(values >= _PLAIN_LIMIT).tolist():
        digits = str(values[i])
        texts[i] = f"{digits[0]}.{digits[1:].rstrip('0') or '0'}E{len(digits) - 1}{separator}"
    return texts


def _doubles(values: Array, separator: str) -> list[str]:
    """`Double.toString` of each value followed by `separator`: repr, but for the magnitudes
    Java writes otherwise."""
    floats = values.tolist()
    texts = [f"{value!r}{separator}" for value in floats]
    magnitude = np.abs(values)
    with np.errstate(invalid="ignore"):
        plain = ((magnitude >= 1e-3) & (magnitude < _PLAIN_LIMIT)) | (values == 0)
        # Rates: positive, from 1e7 to 1e16, where repr is `WHOLE.FRACTION`.
        large = (values >= _PLAIN_LIMIT) & (values < 1e16)
    for i in np.flatnonzero(large).tolist():
        whole, _, fraction = repr(floats[i]).partition(".")
        digits = (whole[1:] + fraction).rstrip("0") or "0"
        texts[i] = f"{whole[0]}.{digits}E{len(whole) - 1}{separator}"
    for i in np.flatnonzero(~plain & ~large).tolist():
        texts[i] = java_double(floats[i]) + separator
    return texts


class CsvWriter:
    """Writes flow batches as CSV rows to an open text file, the header first. `labelled`: a
    Label column, its values given to `write` (`flows.labelling`); the reference's layout
    without labels says `NeedManualLabel`, as `cfm` does."""

    def __init__(
        self, file: TextIO, naming: str = naming_table.CICIDS2017, *, labelled: bool = False
    ) -> None:
        self.file = file
        self.naming = naming
        self.labelled = labelled
        self.columns = header(naming, labelled=labelled)
        canonical = [naming_table.canonical(name) or name for name in self.columns]
        # Both layouts: the identifiers (Destination Port among them: it is also the first
        # feature), the other features, and cfm's constant Label.
        identifiers = canonical[: len(_IDENTIFIERS)]
        names = canonical[len(_IDENTIFIERS) :]
        label = names[-1] == naming_table.LABEL_COLUMN
        if label:
            names = names[:-1]
        assert tuple(identifiers) == _IDENTIFIERS, identifiers
        assert names == list(FEATURE_NAMES[1:]) or names == [
            name for name in FEATURE_NAMES[1:] if name != "Fwd Header Length.1"
        ]
        self._features = [_INDEX[name] for name in names]
        self._doubles = {i for i, name in enumerate(names) if name in _DOUBLES}
        self._guards = {i: _GUARDS[name] for i, name in enumerate(names) if name in _GUARDS}
        self._label = label
        self.rows = 0
        file.write(",".join(self.columns) + "\n")

    def write(self, batch: FlowBatch, labels: list[str] | None = None) -> None:
        if (labels is not None) != self.labelled:
            raise ValueError("labels go with a writer made with labelled=True, and only there")
        if labels is not None and len(labels) != len(batch):
            raise ValueError(f"{len(labels)} labels for {len(batch)} flows")
        if not len(batch):
            return
        # Column by column (flows share many values), each cell with the separator that follows
        # it, into a grid of rows; a few thousand rows are then one join and one write (the text
        # of a large batch is never whole in memory).
        features = batch.features
        last = len(self._features) - 1 if labels is None and not self._label else -1
        grid = np.empty((len(batch), len(self._features) + 1 + (last < 0)), dtype=object)
        grid[:, 0] = self._identifiers_of(batch)
        unguarded: dict[Callable[[Array], Array], Array] = {}  # one mask per guard and batch
        for position, index in enumerate(self._features):
            separator = "\n" if position == last else ","
            cells = _cells(features[:, index], position in self._doubles, separator)
            guard = self._guards.get(position)
            if guard is not None:
                failed = unguarded.get(guard)
                if failed is None:
                    failed = unguarded[guard] = np.flatnonzero(~guard(features))
                cells[failed] = "0" + separator
            grid[:, position + 1] = cells
        if labels is not None:
            grid[:, -1] = [label + "\n" for label in labels]
        elif self._label:
            grid[:, -1] = REFERENCE_LABEL + "\n"
        for start in range(0, len(batch), _ROWS_A_WRITE):
            self.file.write("".join(grid[start : start + _ROWS_A_WRITE].ravel().tolist()))
        self.rows += len(batch)

    def _identifiers_of(self, batch: FlowBatch) -> list[str]:
        """The identifier cells of each row as one text, the separator after them included:
        Flow ID (the reference's `src-dst-srcport-dstport-protocol`), Source IP, Source Port,
        Destination IP, Destination Port, Protocol, Timestamp (the order of both layouts)."""
        ports = zip(
            batch.src_ips(),
            batch.dst_ips(),
            _cells(batch.src_port, False, "").tolist(),
            _cells(batch.dst_port, False, "").tolist(),
            _cells(batch.protocol, False, "").tolist(),
            self._timestamp(batch.start_us),
            strict=True,
        )
        return [f"{s}-{d}-{sp}-{dp}-{p},{s},{sp},{d},{dp},{p},{t}," for s, d, sp, dp, p, t in ports]

    def _timestamp(self, start_us: Array) -> list[str]:
        seconds, inverse = np.unique(start_us // 1_000_000, return_inverse=True)
        texts = [java_timestamp(second * 1_000_000) for second in seconds.tolist()]
        return np.array(texts, dtype=object)[inverse].tolist()  # type: ignore[no-any-return]
