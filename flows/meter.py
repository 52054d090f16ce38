"""The flow meter: packet batches in, ended flows out, with CICFlowMeter's rules and values.

`FlowMeter.add` takes `PacketBatch`es in capture order and returns the flows they ended (by FIN,
RST or the flow timeout); `expire` ends flows by clock (a file's packet clock, or the wall clock
when capturing live); `flush` ends every open flow at the end of the input. Flows of a single
packet are never written, as in the reference.

Memory holds the open flows only. A flow whose timeout has passed on the clock is written at once
(its values cannot change: any later packet of its conversation would start a new flow), and
only its orientation is kept (which endpoint is the source), because the reference's next flow
in that conversation keeps it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import compress, repeat

import numpy as np

from flows import assign, features
from flows.packets import FIN, RST, TCP, PacketBatch
from flows.records import FlowBatch
from flows.stats import Array, segment_starts
from flows.table import MAX_CHUNK_PACKETS, FlowTable, PacketRows

FLOW_TIMEOUT_US = 120_000_000  # the reference's defaults (`Cmd`)
ACTIVITY_TIMEOUT_US = 5_000_000
# A file's packet clock expires a flow only once it is this far past its timeout, so a packet
# stamped up to this much earlier than one before it still meets its flow as in the reference.
REORDER_SLACK_US = 10_000_000
CHUNK_PACKETS = 1 << 15  # at most table.MAX_CHUNK_PACKETS
# Orientations kept for conversations whose flow expired by clock; the oldest go first.
ORIENTATIONS_KEPT = 1 << 18  # about 92 bytes each: 24 MB


@dataclass
class MeterCounts:
    """What the meter did with the packets it was given."""

    packets: int = 0
    without_transport: int = 0  # IP packets with no TCP/UDP header: protocol 0, ports 0
    repeated_fins: int = 0  # forward FINs after the first, which the reference ignores
    flows: int = 0  # flows written
    single_packet_flows: int = 0  # flows of one packet, never written (as the reference)
    orientations_forgotten: int = 0
    # Packets stamped before a time the clock had already ended flows at: a flow one of them
    # belonged to may have ended without it (live: delivered later than the capture promised).
    late_packets: int = 0
    ended: dict[str, int] = field(
        default_factory=lambda: {"FIN": 0, "RST": 0, "timeout": 0, "clock": 0, "end": 0}
    )


class FlowMeter:
    """CICFlowMeter's `FlowGenerator` over packet batches (see the module doc)."""

    def __init__(
        self,
        *,
        flow_timeout_us: int = FLOW_TIMEOUT_US,
        activity_timeout_us: int = ACTIVITY_TIMEOUT_US,
        reorder_slack_us: int = REORDER_SLACK_US,
        chunk_packets: int = CHUNK_PACKETS,
        orientations_kept: int = ORIENTATIONS_KEPT,
        emit_every: int = 0,
    ) -> None:
        """`emit_every`: hold ended flows until this many have ended (or the input ends), to
        compute and write them in fewer, larger batches; 0 returns them from every call."""
        self.flow_timeout_us = flow_timeout_us
        self.activity_timeout_us = activity_timeout_us
        self.reorder_slack_us = reorder_slack_us
        self.chunk_packets = min(chunk_packets, MAX_CHUNK_PACKETS)
        self.orientations_kept = orientations_kept
        self.emit_every = emit_every
        self._ended: list[tuple[Array, list[str]]] = []  # slots ended, not yet written
        self._ended_count = 0
        self.counts = MeterCounts()
        self.table = FlowTable()
        self._open: dict[int, int] = {}  # conversation key -> slot of its open flow
        self._orientation: dict[int, int] = {}  # conversation key -> orient, after a clock expiry
        self._clock = np.iinfo(np.int64).min  # the latest packet time seen
        self._expired_at = self._clock

    @property
    def open_flows(self) -> int:
        return len(self._open)

    def add(self, batch: PacketBatch) -> FlowBatch:
        """Meter a batch of packets; the flows it ended, in the order they ended."""
        for begin in range(0, len(batch), self.chunk_packets):
            stop = begin + self.chunk_packets
            self._chunk({name: getattr(batch, name)[begin:stop] for name in _COLUMNS})
        if self._clock - self.reorder_slack_us > self._expired_at + 1_000_000:
            # Expire by the packet clock about once a second of capture time.
            self._expire(self._clock - self.reorder_slack_us)
        return self._emit() if self._ended_count > self.emit_every else FlowBatch.empty()

    def expire(self, now_us: int) -> FlowBatch:
        """End every flow that no packet stamped `now_us` or later could join; the flows ended
        and not yet returned."""
        self._expire(now_us)
        return self._emit()

    def _expire(self, now_us: int) -> None:
        self._expired_at = now_us
        table = self.table
        slots = np.flatnonzero(table.live & (table.start < now_us - self.flow_timeout_us))
        if len(slots) == 0:
            return
        slots = slots[np.argsort(table.start[slots], kind="stable")]
        orient = table.orient[slots].tolist()
        for key, orientation in zip(table.keys[slots].tolist(), orient, strict=True):
            del self._open[key]
            self._orientation[key] = int(orientation)
        while len(self._orientation) > self.orientations_kept:
            del self._orientation[next(iter(self._orientation))]
            self.counts.orientations_forgotten += 1
        self._end(slots, ["clock"] * len(slots))

    def flush(self) -> FlowBatch:
        """End every open flow (the end of a file, or of a capture)."""
        table = self.table
        slots = np.flatnonzero(table.live)
        slots = slots[np.argsort(table.start[slots], kind="stable")]
        self._open.clear()
        self._orientation.clear()
        self._end(slots, ["end"] * len(slots))
        return self._emit()

    def _end(self, slots: Array, reasons: list[str]) -> None:
        """Flows that ended: no packet joins them any more; written by the next `_emit`."""
        self.table.live[slots] = False
        self._ended.append((slots, reasons))
        self._ended_count += len(slots)

    def _emit(self) -> FlowBatch:
        """The ended flows that have more than one packet, in the order they ended; every ended
        flow's slot is freed."""
        if not self._ended:
            return FlowBatch.empty()
        slots = np.concatenate([slots for slots, _ in self._ended])
        reasons = [reason for _, named in self._ended for reason in named]
        self._ended.clear()
        self._ended_count = 0
        table = self.table
        packets = table.fwd_packets[slots] + table.bwd_packets[slots]
        kept = packets > 1
        written = slots[kept]
        self.counts.single_packet_flows += len(slots) - len(written)
        self.counts.flows += len(written)
        for reason, count in Counter(compress(reasons, kept.tolist())).items():
            self.counts.ended[reason] += count
        batch = FlowBatch(
            family=table.family[written].astype(np.uint8),
            src_hi=table.src_hi[written].astype(np.uint64),
            src_lo=table.src_lo[written].astype(np.uint64),
            dst_hi=table.dst_hi[written].astype(np.uint64),
            dst_lo=table.dst_lo[written].astype(np.uint64),
            src_port=table.src_port[written],
            dst_port=table.dst_port[written],
            protocol=table.protocol[written],
            start_us=table.start[written],
            features=features.compute(table, written),
        )
        table.release(slots)
        return batch

    def _chunk(self, columns: dict[str, Array]) -> None:
        n = len(columns["time_us"])
        if n == 0:
            return
        counts = self.counts
        counts.packets += n
        cols = _transport_fields(columns)
        counts.without_transport += int(n - np.count_nonzero(columns["transport"]))
        time = cols["time_us"]
        counts.late_packets += int(np.count_nonzero(time < self._expired_at))
        flags = cols["tcp_flags"]
        talks = assign.conversations(cols)
        conversation = talks.index
        table = self.table

        # The state each conversation starts the chunk in.
        open_slot = list(map(self._open.get, talks.keys, repeat(-1)))
        slot_array = np.array(open_slot, np.int64)
        is_open = slot_array >= 0
        known = slot_array[is_open]
        start = np.zeros(len(open_slot), np.int64)
        start[is_open] = table.start[known]
        fins = np.zeros(len(open_slot), np.int64)
        fins[is_open] = table.fwd_fins[known]
        orient = np.full(len(open_slot), -1, np.int64)
        orient[is_open] = table.orient[known]
        if self._orientation:
            remembered = self._orientation
            for c in np.flatnonzero(~is_open).tolist():
                orientation = remembered.pop(talks.keys[c], None)
                if orientation is not None:
                    orient[c] = orientation

        # Packets the sequential rules must see (module doc of flows.assign).
        order = talks.order
        grouped = conversation[order]
        begins = segment_starts(grouped)
        times = time[order]
        latest = np.maximum.reduceat(times, begins)
        earliest = np.minimum(np.minimum.reduceat(times, begins), np.where(is_open, start, latest))
        spans_timeout = latest - earliest > self.flow_timeout_us
        flagged = (flags & (FIN | RST)) != 0
        event = flagged.copy()
        event[talks.first] = True
        after_flag = np.zeros(n, np.bool_)
        after_flag[1:] = flagged[order][:-1] & (grouped[1:] == grouped[:-1])
        event[order[after_flag]] = True
        if spans_timeout.any():
            event |= spans_timeout[conversation]
        events = np.flatnonzero(event)

        state = assign.ConversationState(
            slot=open_slot,
            start=start.tolist(),
            orient=orient.tolist(),
            fins=fins.tolist(),
            ip_equal=talks.ip_equal.tolist(),
        )
        decided = assign.decide(
            conversation[events].tolist(),
            time[events].tolist(),
            flags[events].tolist(),
            talks.a_is_src[events].tolist(),
            state,
            table.take,
            self.flow_timeout_us,
        )

        # Every other packet joins the flow its conversation has open after its predecessor.
        slot = np.full(n, -1, np.int64)
        after = np.full(n, -1, np.int64)
        slot[events] = decided.slot
        after[events] = decided.after
        ordered_event = event[order]
        last_event = np.maximum.accumulate(np.where(ordered_event, np.arange(n), 0))
        slot[order] = np.where(ordered_event, slot[order], after[order][last_event])
        first = np.zeros(n, np.bool_)
        first[events] = decided.first
        dropped = np.zeros(n, np.bool_)
        dropped[events] = decided.dropped
        counts.repeated_fins += int(np.count_nonzero(dropped))

        self._open_flows(decided, time[events], events, talks)
        self._store_state(talks, state)

        # Fold the packets into their flows. In conversation order each flow's packets are
        # one run, in capture order: a conversation's flows follow one another.
        picked = order[~dropped[order]]
        picked_slot = slot[picked]
        first_picked = first[picked]
        forward = (
            first_picked
            | talks.ip_equal[conversation[picked]]
            | (talks.a_is_src[picked] == table.orient[picked_slot])
        )
        table.update(
            PacketRows(
                slot=picked_slot,
                time=time[picked],
                forward=forward,
                first=first_picked,
                payload=cols["payload_len"][picked].astype(np.int64),
                header=cols["header_len"][picked].astype(np.int64),
                flags=flags[picked],
                window=cols["window"][picked].astype(np.int64),
            ),
            self.activity_timeout_us,
        )
        self._clock = max(self._clock, int(time.max()))

        # Write the flows that ended, in the order they ended.
        if decided.ended:
            ended = np.array(decided.ended, np.int64).reshape(-1, 3)
            self._end(ended[:, 0], [_REASONS[reason] for reason in ended[:, 1].tolist()])

    def _open_flows(
        self,
        decided: assign.Decisions,
        event_time: Array,
        events: Array,
        talks: assign.Conversations,
    ) -> None:
        """Record the identity of the flows the rules opened: source = endpoint A if oriented so."""
        if not decided.opened:
            return
        opened = np.array(decided.opened, np.int64).reshape(-1, 3)
        slots, positions, orient = opened[:, 0], opened[:, 1], opened[:, 2].astype(np.bool_)
        packets = events[positions]
        ends = talks.endpoints
        a_hi, a_lo, a_port = ends["a_hi"][packets], ends["a_lo"][packets], ends["a_port"][packets]
        b_hi, b_lo, b_port = ends["b_hi"][packets], ends["b_lo"][packets], ends["b_port"][packets]
        conversation = talks.index[packets]
        identity = {
            "family": ends["family"][packets].astype(np.int64),
            "src_hi": np.where(orient, a_hi, b_hi).astype(np.int64),
            "src_lo": np.where(orient, a_lo, b_lo).astype(np.int64),
            "dst_hi": np.where(orient, b_hi, a_hi).astype(np.int64),
            "dst_lo": np.where(orient, b_lo, a_lo).astype(np.int64),
            "src_port": np.where(orient, a_port, b_port).astype(np.int64),
            "dst_port": np.where(orient, b_port, a_port).astype(np.int64),
            "protocol": ends["protocol"][packets].astype(np.int64),
            "orient": orient,
            "ip_equal": talks.ip_equal[conversation],
        }
        keys = np.array(talks.keys, dtype=object)[conversation]
        self.table.open(slots, event_time[positions], identity, keys)

    def _store_state(self, talks: assign.Conversations, state: assign.ConversationState) -> None:
        """Write the conversations' rule state back: open flows, their start and FIN count."""
        slots = np.array(state.slot, np.int64)
        is_open = slots >= 0
        table = self.table
        table.start[slots[is_open]] = np.array(state.start, np.int64)[is_open]
        table.fwd_fins[slots[is_open]] = np.array(state.fins, np.int64)[is_open]
        opened = self._open
        keep = is_open.tolist()
        opened.update(zip(compress(talks.keys, keep), compress(state.slot, keep), strict=True))
        for key in compress(talks.keys, (~is_open).tolist()):
            opened.pop(key, None)


_COLUMNS = (
    "time_us",
    "family",
    "src_hi",
    "src_lo",
    "dst_hi",
    "dst_lo",
    "protocol",
    "transport",
    "src_port",
    "dst_port",
    "tcp_flags",
    "window",
    "header_len",
    "payload_len",
)

_REASONS = {
    assign.ENDED_BY_TIMEOUT: "timeout",
    assign.ENDED_BY_FIN: "FIN",
    assign.ENDED_BY_RST: "RST",
}


def _transport_fields(columns: dict[str, Array]) -> dict[str, Array]:
    """The packet as the reference sees it: without a TCP/UDP header, protocol and ports are 0."""
    transport = columns["transport"]
    tcp = transport & (columns["protocol"] == TCP)
    zero = np.zeros(1, np.int64)
    out = dict(columns)
    out["time_us"] = columns["time_us"].astype(np.int64)
    out["protocol"] = np.where(transport, columns["protocol"], 0).astype(np.int64)
    out["src_port"] = np.where(transport, columns["src_port"], zero).astype(np.int64)
    out["dst_port"] = np.where(transport, columns["dst_port"], zero).astype(np.int64)
    out["tcp_flags"] = np.where(tcp, columns["tcp_flags"], 0).astype(np.uint8)
    out["window"] = np.where(tcp, columns["window"], 0)
    out["header_len"] = np.where(transport, columns["header_len"], 0)
    out["payload_len"] = np.where(transport, columns["payload_len"], 0)
    return out
