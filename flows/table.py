"""The open flows: one slot each in a set of numpy columns, updated a chunk of packets at a time.

Every accumulator of CICFlowMeter's `BasicFlow` that the 78 features need lives here as a column
indexed by slot. `update` folds a chunk of packets into their flows with grouped reductions over
the packets sorted by slot (capture order kept within a flow); what looks sequential in the
reference (inter-arrival times, active/idle periods, subflows, bulk runs) is computed from the
gaps between consecutive packets of a flow plus the few values carried from the previous chunk
(last times, the open bulk run), so no flow keeps its packets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.packets import PSH, URG
from flows.stats import EMPTY_HIGH, EMPTY_LOW, Array, Chunk, Moments, segment_starts

# The reference's thresholds on the gap between consecutive packets of a flow, in microseconds:
# a subflow ends and a bulk run breaks after more than 1 s (`detectUpdateSubflows`,
# `updateBackwardBulk`); an active period ends after more than the activity timeout.
SUBFLOW_GAP_US = 1_000_000
BULK_GAP_US = 1_000_000
BULK_MIN_PACKETS = 4


@dataclass(frozen=True, slots=True)
class PacketRows:
    """A chunk's packets that joined a flow, grouped by flow: each flow's packets are one run,
    in capture order (each slot is one flow, and appears in one run)."""

    slot: Array  # int64
    time: Array  # int64, microseconds
    forward: Array  # bool: from the flow's source address (the first packet always)
    first: Array  # bool: the packet that opened its flow
    payload: Array  # int64
    header: Array  # int64
    flags: Array  # uint8
    window: Array  # int64


_INT_COLUMNS = (
    # identity, as the reference writes it (source = the first packet's sender)
    "family",
    "src_hi",
    "src_lo",
    "dst_hi",
    "dst_lo",
    "src_port",
    "dst_port",
    "protocol",
    # the sequential rules' state (flows.assign)
    "start",
    "fwd_fins",
    # times
    "last",
    "fwd_last",
    "bwd_last",
    "start_active",
    # per-direction packets, headers, windows and flags
    "fwd_packets",
    "bwd_packets",
    "fwd_header",
    "bwd_header",
    "fwd_header_min",
    "init_win_fwd",
    "init_win_bwd",
    "act_data_fwd",
    "first_psh",
    "first_payload",
    "first_urg",
    "subflows",
    # the bulk run in progress, and the bulks so far (`updateBackwardBulk`)
    "run_start",
    "run_last",
    "run_packets",
    "run_bytes",
    "bulks",
    "bulk_packets",
    "bulk_bytes",
    "bulk_duration",
)

# The packet-length statistics of all packets follow from the two directions' (flows.features).
_MOMENTS = ("fwd_len", "bwd_len", "flow_iat", "fwd_iat", "bwd_iat", "active", "idle")

# Flag counters in the reference's column order: FIN, SYN, RST, PSH, ACK, URG, CWR, ECE.
FLAG_BITS = (0, 1, 2, 3, 4, 5, 7, 6)
# The eight counters are summed as two 64-bit words of four 16-bit lanes: a table spreads each
# flag byte's bits to their lanes, and one reduction per word counts four flags at once. A lane
# cannot carry into the next while a chunk holds fewer than 2**16 packets (`MAX_CHUNK_PACKETS`).
MAX_CHUNK_PACKETS = (1 << 16) - 1
_LANE_BITS = 16
_FLAG_LANES = [
    np.array(
        [
            sum(((flags >> bit) & 1) << (_LANE_BITS * lane) for lane, bit in enumerate(word))
            for flags in range(256)
        ],
        np.uint64,
    )
    for word in (FLAG_BITS[:4], FLAG_BITS[4:])
]


_FLAG_COLUMNS = tuple(f"flags_{i}" for i in range(8))
_MOMENT_FIELDS = ("n", "total", "low", "high")
_COLUMNS = (
    *_INT_COLUMNS,
    *_FLAG_COLUMNS,
    *(f"{name}_{field}" for name in _MOMENTS for field in _MOMENT_FIELDS),
)
_INDEX = {name: i for i, name in enumerate(_COLUMNS)}
# A new flow's row: zeros, but for the minima and maxima of nothing yet.
_OPENED = np.zeros(len(_COLUMNS), np.int64)
_OPENED[_INDEX["fwd_header_min"]] = EMPTY_LOW
for _name in _MOMENTS:
    _OPENED[_INDEX[f"{_name}_low"]] = EMPTY_LOW
    _OPENED[_INDEX[f"{_name}_high"]] = EMPTY_HIGH
_OPENED_VALUES = [*_OPENED.tolist(), *[0.0] * len(_MOMENTS)]  # and the float matrix's m2


def _grown(matrix: Array, capacity: int) -> Array:
    """A column-major copy of `matrix` with `capacity` rows, the new ones zeros."""
    grown = np.zeros((capacity, matrix.shape[1]), matrix.dtype, order="F")
    grown[: len(matrix)] = matrix
    return grown


class FlowTable:
    """Accumulators of every open flow, by slot; slots of ended flows are reused."""

    def __init__(self, capacity: int = 1 << 14) -> None:
        # Untouched rows of the zeroed matrices take no memory: a large start spares copies.
        self.capacity = capacity
        # Every integer accumulator of a flow is one row of a matrix (its float ones, one row of
        # another): a new flow's are set in one operation. The matrices are column-major: each
        # accumulator's column is contiguous (128 KiB for 16,384 flows), so the scattered reads
        # and writes of a chunk's flows, and the gathers of ended flows, stay in cache.
        self.matrix = np.zeros((capacity, len(_COLUMNS)), np.int64, order="F")
        self.m2 = np.zeros((capacity, len(_MOMENTS)), order="F")
        self.orient = np.zeros(capacity, np.bool_)  # the source is the conversation's endpoint A
        self.ip_equal = np.zeros(capacity, np.bool_)  # both ends share an address
        self.live = np.zeros(capacity, np.bool_)
        # The conversation key of each slot's flow (Python ints: up to 297 bits).
        self.keys = np.zeros(capacity, object)
        self._views()
        self._free: list[int] = []
        self._next = 0

    def _views(self) -> None:
        """Name the matrices' columns (again, after they grow)."""
        matrix = self.matrix
        self._columns: list[Array] = [matrix[:, i] for i in range(len(_COLUMNS))]
        self._columns += [self.m2[:, i] for i in range(len(_MOMENTS))]
        self.ints: dict[str, Array] = {name: matrix[:, _INDEX[name]] for name in _INT_COLUMNS}
        first = _INDEX[_FLAG_COLUMNS[0]]
        self.flag_counts = matrix[:, first : first + 8]
        self.moments = {
            name: Moments(
                n=matrix[:, _INDEX[f"{name}_n"]],
                total=matrix[:, _INDEX[f"{name}_total"]],
                low=matrix[:, _INDEX[f"{name}_low"]],
                high=matrix[:, _INDEX[f"{name}_high"]],
                m2=self.m2[:, i],
            )
            for i, name in enumerate(_MOMENTS)
        }

    def __getattr__(self, name: str) -> Array:
        try:
            return self.__dict__["ints"][name]  # type: ignore[no-any-return]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def open_count(self) -> int:
        return self._next - len(self._free)

    def take(self) -> int:
        """A free slot for a new flow (the columns grow in `reserve`)."""
        if self._free:
            return self._free.pop()
        self._next += 1
        return self._next - 1

    def reserve(self) -> None:
        """Grow the columns to hold every slot handed out by `take`."""
        if self._next <= self.capacity:
            return
        capacity = max(self._next, 2 * self.capacity)
        extra = capacity - self.capacity
        self.matrix = _grown(self.matrix, capacity)
        self.m2 = _grown(self.m2, capacity)
        self.orient = np.concatenate((self.orient, np.zeros(extra, np.bool_)))
        self.ip_equal = np.concatenate((self.ip_equal, np.zeros(extra, np.bool_)))
        self.live = np.concatenate((self.live, np.zeros(extra, np.bool_)))
        self.keys = np.concatenate((self.keys, np.zeros(extra, object)))
        self.capacity = capacity
        self._views()

    def gather(self, slots: Array) -> dict[str, Array]:
        """The integer accumulators of the flows in `slots`, by name."""
        return {name: column[slots] for name, column in self.ints.items()}

    def release(self, slots: Array) -> None:
        """Forget ended flows and make their slots free."""
        self.live[slots] = False
        self._free.extend(slots.tolist())

    def open(self, slots: Array, start: Array, identity: dict[str, Array], keys: Array) -> None:
        """Start new flows: zeroed accumulators, their identity and start time. `keys`: their
        conversations' keys (an object array)."""
        self.reserve()
        # Column by column: each write stays within one contiguous column.
        for column, value in zip(self._columns, _OPENED_VALUES, strict=True):
            column[slots] = value
        for name, values in identity.items():
            if name in self.ints:
                self.ints[name][slots] = values
        self.orient[slots] = identity["orient"]
        self.ip_equal[slots] = identity["ip_equal"]
        self.live[slots] = True
        self.start[slots] = start
        self.start_active[slots] = start
        self.keys[slots] = keys

    def update(self, rows: PacketRows, activity_timeout_us: int) -> None:
        """Fold a chunk's packets into their flows, as `BasicFlow.firstPacket`/`addPacket`."""
        if len(rows.slot) == 0:
            return
        s, t = rows.slot, rows.time
        starts = segment_starts(s)
        flows = s[starts]
        ends = np.append(starts[1:], len(s)) - 1
        first = rows.first

        # Gap to the flow's previous packet, for every packet but a flow's first.
        previous = np.empty(len(s), np.int64)
        previous[1:] = t[:-1]
        previous[starts] = self.last[flows]
        has_gap = ~first
        gap = t - previous
        self._times(rows, has_gap, gap, previous, starts, activity_timeout_us)
        self._directions(rows)
        self._bulk(rows)

        low, high = (np.add.reduceat(lanes[rows.flags], starts) for lanes in _FLAG_LANES)
        counts = np.empty((len(flows), 8), np.int64)
        for lane in range(4):
            shift = np.uint64(_LANE_BITS * lane)
            counts[:, lane] = (low >> shift) & np.uint64(0xFFFF)
            counts[:, 4 + lane] = (high >> shift) & np.uint64(0xFFFF)
        self.flag_counts[flows] += counts
        self.last[flows] = t[ends]

    def _times(
        self,
        rows: PacketRows,
        has_gap: Array,
        gap: Array,
        previous: Array,
        starts: Array,
        activity_timeout_us: int,
    ) -> None:
        s, t = rows.slot, rows.time
        flows = s[starts]
        self.moments["flow_iat"].merge(Chunk.reduce(s[has_gap], gap[has_gap]))
        # Subflows: gaps over 1 s (`detectUpdateSubflows`).
        long_gap = has_gap & (gap > SUBFLOW_GAP_US)
        self.subflows[flows] += np.add.reduceat(long_gap.astype(np.int64), starts)
        # Active/idle (`updateActiveIdleTime`, called for every packet after a flow's first):
        # a gap over the activity timeout is an idle time, and closes the active period that
        # began at the packet after the previous idle time (or the flow's first packet); an
        # active period is recorded only if it lasted more than 0 us.
        idle = np.flatnonzero(has_gap & (gap > activity_timeout_us))
        if len(idle) == 0:
            return
        idle_slots = s[idle]
        same = np.zeros(len(idle), np.bool_)
        same[1:] = idle_slots[1:] == idle_slots[:-1]
        began = self.start_active[idle_slots]
        began[1:] = np.where(same[1:], t[idle[:-1]], began[1:])
        active = previous[idle] - began
        kept = active > 0
        self.moments["active"].merge(Chunk.reduce(idle_slots[kept], active[kept]))
        self.moments["idle"].merge(Chunk.reduce(idle_slots, gap[idle]))
        last_idle = np.append(~same[1:], True)
        self.start_active[idle_slots[last_idle]] = t[idle[last_idle]]

    def _directions(self, rows: PacketRows) -> None:
        s, t = rows.slot, rows.time
        for forward in (True, False):
            picked = np.flatnonzero(rows.forward == forward)
            if len(picked) == 0:
                continue
            ps, pt = s[picked], t[picked]
            starts = segment_starts(ps)
            flows = ps[starts]
            ends = np.append(starts[1:], len(ps)) - 1
            packets = self.fwd_packets if forward else self.bwd_packets
            last = self.fwd_last if forward else self.bwd_last
            # Inter-arrival times within a direction: none for the direction's first packet.
            previous = np.empty(len(ps), np.int64)
            previous[1:] = pt[:-1]
            previous[starts] = last[flows]
            has_gap = np.ones(len(ps), np.bool_)
            has_gap[starts] = packets[flows] > 0
            gap = pt - previous
            iat = self.moments["fwd_iat" if forward else "bwd_iat"]
            iat.merge(Chunk.reduce(ps[has_gap], gap[has_gap]))
            payload = rows.payload[picked]
            self.moments["fwd_len" if forward else "bwd_len"].merge(
                Chunk.reduce(ps, payload, starts)
            )
            header = rows.header[picked]
            counts = np.diff(np.append(starts, len(ps)))
            packets[flows] += counts
            last[flows] = pt[ends]
            if forward:
                self.fwd_header[flows] += np.add.reduceat(header, starts)
                self.fwd_header_min[flows] = np.minimum(
                    self.fwd_header_min[flows], np.minimum.reduceat(header, starts)
                )
                first = rows.first[picked]
                data = (payload >= 1) & ~first
                self.act_data_fwd[flows] += np.add.reduceat(data.astype(np.int64), starts)
                opened = ps[first]
                flags = rows.flags[picked][first]
                self.init_win_fwd[opened] = rows.window[picked][first]
                self.first_payload[opened] = payload[first]
                self.first_psh[opened] = (flags & PSH) != 0
                self.first_urg[opened] = (flags & URG) != 0
            else:
                self.bwd_header[flows] += np.add.reduceat(header, starts)
                # `Init_Win_bytes_backward` is overwritten by every backward packet.
                self.init_win_bwd[flows] = rows.window[picked][ends]

    def _bulk(self, rows: PacketRows) -> None:
        """`updateBackwardBulk`, which sees every packet of the flow, both directions."""
        picked = np.flatnonzero(rows.payload > 0)
        if len(picked) == 0:
            return
        ps, pt = rows.slot[picked], rows.time[picked]
        size = rows.payload[picked]
        n = len(ps)
        index = np.arange(n)
        starts = segment_starts(ps)
        flows = ps[starts]
        counts = np.diff(np.append(starts, n))
        segment_start = np.repeat(starts, counts)
        run_start = np.repeat(self.run_start[flows], counts)
        run_packets = np.repeat(self.run_packets[flows], counts)
        run_bytes = np.repeat(self.run_bytes[flows], counts)
        previous = np.empty(n, np.int64)
        previous[1:] = pt[:-1]
        previous[starts] = self.run_last[flows]
        # A run breaks after more than 1 s without payload. The reference marks "no run" with a
        # start time of 0 (and resets a negative one to 0), so a run that began at a time <= 0
        # breaks at the next payload packet.
        boundary = pt - previous > BULK_GAP_US
        boundary[starts] |= (self.run_packets[flows] == 0) | (self.run_start[flows] <= 0)
        same_flow = np.zeros(n, np.bool_)
        same_flow[1:] = ps[1:] == ps[:-1]
        while True:
            last_boundary = np.maximum.accumulate(np.where(boundary, index, -1))
            carried = last_boundary < segment_start  # continues the run carried into the chunk
            first_index = np.where(carried, segment_start, last_boundary)
            began = np.where(carried, run_start, pt[first_index])
            late = np.zeros(n, np.bool_)
            late[1:] = same_flow[1:] & (began[:-1] <= 0) & ~boundary[1:]
            if not late.any():
                break
            boundary |= late
        cumulative = np.cumsum(size)
        before = np.where(first_index > 0, cumulative[first_index - 1], 0)
        count = index - first_index + 1 + np.where(carried, run_packets, 0)
        in_run = cumulative - before + np.where(carried, run_bytes, 0)
        opens = count == BULK_MIN_PACKETS
        grows = count > BULK_MIN_PACKETS
        packets = np.where(opens, BULK_MIN_PACKETS, grows.astype(np.int64))
        nbytes = np.where(opens, in_run, np.where(grows, size, 0))
        duration = np.where(opens, pt - began, np.where(grows, pt - previous, 0))
        self.bulks[flows] += np.add.reduceat(opens.astype(np.int64), starts)
        self.bulk_packets[flows] += np.add.reduceat(packets, starts)
        self.bulk_bytes[flows] += np.add.reduceat(nbytes, starts)
        self.bulk_duration[flows] += np.add.reduceat(duration, starts)
        ends = np.append(starts[1:], n) - 1
        self.run_start[flows] = began[ends]
        self.run_last[flows] = pt[ends]
        self.run_packets[flows] = count[ends]
        self.run_bytes[flows] = in_run[ends]
