"""A connection's end takes the verdict of the connection.

The reference flow meter ends a TCP flow at a FIN; the packets that follow on the same
connection (the other side's FIN/ACK, the last ACK) make a flow of their own: a packet or two
each way, no payload, no SYN. Such a flow carries nothing to judge, and every connection makes
one, an HTTP flood's and a browser's alike, down to the receive window (measured in
`benchmarks.detection`: all of a flood's 1,500 connection ends a recording, and about half of a
web recording's, have one shape and forward window 63). A model trained on a flood calls them
all attacks, so left to the model they make most of the false alerts on benign traffic.

So `detect` gives such a flow the verdict of the flow it continues, when that flow was seen: the
same addresses, ports and protocol, with a FIN, ended before this one began and at most a flow
timeout earlier. A connection end whose connection was not seen (the capture began after it)
keeps the model's verdict; so does any flow that carries payload or a SYN.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import repeat
from typing import Any, NamedTuple

import numpy as np

from detect.verdicts import Verdicts
from flows.meter import FLOW_TIMEOUT_US
from flows.records import FlowBatch
from models.features import FEATURE_NAMES

TCP = 6
# Ended connections remembered at most, whatever the timeout: a bound on memory (560 bytes each,
# measured with tracemalloc: 56 MB) when a flood ends thousands of connections a second. A
# connection's end follows its FIN within milliseconds; at 3,000 connections a second this is
# half a minute of them.
REMEMBERED = 100_000

_SYN = FEATURE_NAMES.index("SYN Flag Count")
_FIN = FEATURE_NAMES.index("FIN Flag Count")
_FWD_BYTES = FEATURE_NAMES.index("Total Length of Fwd Packets")
_BWD_BYTES = FEATURE_NAMES.index("Total Length of Bwd Packets")
_DURATION = FEATURE_NAMES.index("Flow Duration")

Key = tuple[int, ...]
Rows = np.ndarray[Any, np.dtype[np.intp]]


class _Ended(NamedTuple):
    end_us: int
    label: str
    probabilities: list[float]  # one per class
    flow: str  # its Flow ID and start: what the alert of a continuation points at
    start_us: int


@dataclass(frozen=True, slots=True)
class Continuations:
    """Which flows of a batch took a verdict from the flow they continue, and that flow."""

    rows: list[int]
    parents: list[tuple[str, int]]  # (Flow ID, start in microseconds) of each one's connection


def _keys(batch: FlowBatch, rows: Rows) -> list[Key]:
    """The connection of each flow in `rows`, the same whichever side sent first: (TCP, the
    lower end's address and port, the higher end's)."""
    src = [batch.src_hi[rows], batch.src_lo[rows], batch.src_port[rows]]
    dst = [batch.dst_hi[rows], batch.dst_lo[rows], batch.dst_port[rows]]
    # src <= dst in (high, low, port) order, column by column from the last
    src_first = src[2] <= dst[2]
    for s, d in ((src[1], dst[1]), (src[0], dst[0])):
        src_first = (s < d) | ((s == d) & src_first)
    lower = [np.where(src_first, s, d).tolist() for s, d in zip(src, dst, strict=True)]
    higher = [np.where(src_first, d, s).tolist() for s, d in zip(src, dst, strict=True)]
    return list(zip(repeat(TCP), *lower, *higher))


class ConnectionVerdicts:
    """Remembers the verdicts of TCP flows ended with a FIN, and hands each to the bare
    connection end that follows it (see the module's docstring)."""

    def __init__(self, horizon_us: int = FLOW_TIMEOUT_US, remembered: int = REMEMBERED) -> None:
        self.horizon_us = horizon_us
        self.remembered = remembered
        self.ended: dict[Key, _Ended] = {}
        self.taken = 0  # verdicts handed on so far
        self.changed = 0  # of which differed from the model's own

    def apply(self, batch: FlowBatch, verdicts: Verdicts) -> tuple[Verdicts, Continuations]:
        features = batch.features
        tcp = batch.protocol == TCP
        bare = (
            tcp
            & (features[:, _SYN] == 0)
            & (features[:, _FWD_BYTES] == 0)
            & (features[:, _BWD_BYTES] == 0)
        )
        fin = tcp & (features[:, _FIN] > 0)
        # Only bare flows and FIN flows take part, in order of start: a connection's FIN flow
        # began before its end's flow, whether the two arrive in one batch or in two.
        rows = np.flatnonzero(bare | fin)
        if not len(rows):
            return verdicts, Continuations([], [])
        rows = rows[np.argsort(batch.start_us[rows], kind="stable")]
        starts = batch.start_us[rows]
        ends = (starts + np.maximum(features[rows, _DURATION], 0).astype(np.int64)).tolist()
        fin_ids = iter(batch.take(rows[fin[rows]]).flow_ids())
        labels = list(verdicts.labels)
        probabilities = verdicts.probabilities.copy()
        taken: list[int] = []
        parents: list[tuple[str, int]] = []
        for i, key, start, end, is_bare, is_fin, row_probabilities in zip(
            rows.tolist(),
            _keys(batch, rows),
            starts.tolist(),
            ends,
            bare[rows].tolist(),
            fin[rows].tolist(),
            probabilities[rows].tolist(),
            strict=True,
        ):
            parent = self.ended.get(key) if is_bare else None
            if parent is not None and parent.end_us <= start < parent.end_us + self.horizon_us:
                self.changed += labels[i] != parent.label
                labels[i], row_probabilities = parent.label, parent.probabilities
                probabilities[i] = row_probabilities
                taken.append(i)
                parents.append((parent.flow, parent.start_us))
            if is_fin:
                self.ended.pop(key, None)  # re-inserted last: the dict stays in order of end
                self.ended[key] = _Ended(end, labels[i], row_probabilities, next(fin_ids), start)
        self.taken += len(taken)
        self._forget(int(starts.max()))
        return Verdicts(labels, probabilities), Continuations(taken, parents)

    def _forget(self, now_us: int) -> None:
        """Drop the connections too old to be continued, and the oldest beyond the bound."""
        while self.ended:
            key, oldest = next(iter(self.ended.items()))
            if oldest.end_us + self.horizon_us > now_us and len(self.ended) <= self.remembered:
                break
            del self.ended[key]
