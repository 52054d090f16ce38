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
from typing import Any

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


@dataclass(frozen=True, slots=True)
class _Ended:
    end_us: int
    label: str
    probabilities: Any  # float32 [n_classes]
    flow: str  # its Flow ID and start: what the alert of a continuation points at
    start_us: int


@dataclass(frozen=True, slots=True)
class Continuations:
    """Which flows of a batch took a verdict from the flow they continue, and that flow."""

    rows: list[int]
    parents: list[tuple[str, int]]  # (Flow ID, start in microseconds) of each one's connection


def _keys(batch: FlowBatch) -> list[Key]:
    """Each flow's connection, the same whichever side sent first."""
    src = zip(batch.src_hi.tolist(), batch.src_lo.tolist(), batch.src_port.tolist(), strict=True)
    dst = zip(batch.dst_hi.tolist(), batch.dst_lo.tolist(), batch.dst_port.tolist(), strict=True)
    return [
        (protocol, *min(a, b), *max(a, b))
        for protocol, a, b in zip(batch.protocol.tolist(), src, dst, strict=True)
    ]


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
        if not len(batch) or not (batch.protocol == TCP).any():
            return verdicts, Continuations([], [])
        features = batch.features
        bare = (
            (batch.protocol == TCP)
            & (features[:, _SYN] == 0)
            & (features[:, _FWD_BYTES] == 0)
            & (features[:, _BWD_BYTES] == 0)
        ).tolist()
        fin = ((batch.protocol == TCP) & (features[:, _FIN] > 0)).tolist()
        starts = batch.start_us.tolist()
        ends = (batch.start_us + np.maximum(features[:, _DURATION], 0).astype(np.int64)).tolist()
        keys = _keys(batch)
        flow_ids: list[str] | None = None
        labels = list(verdicts.labels)
        probabilities = verdicts.probabilities
        copied = False
        rows: list[int] = []
        parents: list[tuple[str, int]] = []
        # In order of start: a connection's FIN flow began before its end's flow, whether the
        # two arrive in one batch or in two.
        for i in np.argsort(batch.start_us, kind="stable").tolist():
            key = keys[i]
            if bare[i]:
                parent = self.ended.get(key)
                if parent is not None and parent.end_us <= starts[i] < parent.end_us + (
                    self.horizon_us
                ):
                    if not copied:
                        probabilities, copied = probabilities.copy(), True
                    self.changed += labels[i] != parent.label
                    self.taken += 1
                    labels[i] = parent.label
                    probabilities[i] = parent.probabilities
                    rows.append(i)
                    parents.append((parent.flow, parent.start_us))
            if fin[i]:
                if flow_ids is None:
                    flow_ids = batch.flow_ids()
                self.ended.pop(key, None)  # re-inserted last: the dict stays in order of end
                self.ended[key] = _Ended(
                    ends[i], labels[i], probabilities[i].copy(), flow_ids[i], starts[i]
                )
        self._forget(max(starts))
        return Verdicts(labels, probabilities), Continuations(rows, parents)

    def _forget(self, now_us: int) -> None:
        """Drop the connections too old to be continued, and the oldest beyond the bound."""
        while self.ended:
            key, oldest = next(iter(self.ended.items()))
            if oldest.end_us + self.horizon_us > now_us and len(self.ended) <= self.remembered:
                break
            del self.ended[key]
