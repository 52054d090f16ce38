"""Which flow each packet joins: CICFlowMeter's `FlowGenerator.addPacket`, over plain ints.

A packet belongs to a conversation (its two endpoints and protocol, in either direction), and a
conversation holds at most one open flow at a time. Most packets simply join that flow; only a
few can change it, and only those go through the sequential rules in Python:

- the first packet of each conversation in a chunk (it may open a flow);
- packets with FIN or RST (they may end the flow, or be dropped), and the packet after each (it
  opens the next flow if its predecessor ended one);
- every packet of a conversation whose packets in the chunk span more than the flow timeout
  (any of them may start a new flow after the timeout).

Every other packet joins the flow its conversation has open after its predecessor, which numpy
fills forward.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from flows.packets import FIN, RST
from flows.stats import Array, segment_starts

# Why a flow ended; the order of `ended` is the order the reference writes them in.
ENDED_BY_TIMEOUT = 0
ENDED_BY_FIN = 1
ENDED_BY_RST = 2

_V6 = 1 << 256  # sets IPv6 conversation keys apart from IPv4 ones


@dataclass(frozen=True, slots=True)
class Conversations:
    """The conversations of one chunk: `index` maps each packet to one of them."""

    index: Array  # int64 per packet: the packet's conversation, 0 .. len(keys) - 1
    order: Array  # int64: the packets grouped by conversation, in capture order within each
    first: Array  # int64 per conversation: its first packet in the chunk
    keys: list[int]  # per conversation: a key that is the same in every chunk
    a_is_src: Array  # bool per packet: sent by the conversation's endpoint A (the lower one)
    ip_equal: Array  # bool per conversation: both endpoints share an address
    # per packet: family, a_hi, a_lo, a_port, b_hi, b_lo, b_port, protocol
    endpoints: dict[str, Array]


def conversations(columns: dict[str, Array]) -> Conversations:
    """Group a chunk's packets by conversation, with endpoint A the lower (address, port)."""
    src_hi, src_lo, dst_hi, dst_lo = (
        columns[name] for name in ("src_hi", "src_lo", "dst_hi", "dst_lo")
    )
    sport, dport = columns["src_port"], columns["dst_port"]
    same_hi = src_hi == dst_hi
    same_ip = same_hi & (src_lo == dst_lo)
    a_is_src = (src_hi < dst_hi) | (same_hi & (src_lo < dst_lo)) | (same_ip & (sport <= dport))
    a_hi = np.where(a_is_src, src_hi, dst_hi)
    a_lo = np.where(a_is_src, src_lo, dst_lo)
    b_hi = np.where(a_is_src, dst_hi, src_hi)
    b_lo = np.where(a_is_src, dst_lo, src_lo)
    a_port = np.where(a_is_src, sport, dport).astype(np.uint64)
    b_port = np.where(a_is_src, dport, sport).astype(np.uint64)
    protocol = columns["protocol"].astype(np.uint64)
    family = columns["family"]
    low = (a_port << np.uint64(24)) | (b_port << np.uint64(8)) | protocol  # 40 bits
    v6 = family != 4
    if not v6.any():
        # IPv4 only (addresses fit in 32 bits): two sorts of one uint64 each.
        addresses = (a_lo << np.uint64(32)) | b_lo
        _, pair = np.unique(addresses, return_inverse=True)
        order, index, first = _group((pair.astype(np.uint64) << np.uint64(40)) | low)
        keys = [
            (high << 40) | rest
            for high, rest in zip(addresses[first].tolist(), low[first].tolist(), strict=True)
        ]
    else:
        order = np.lexsort((low, b_lo, b_hi, a_lo, a_hi, v6))  # stable
        changed = np.zeros(len(order), np.bool_)
        changed[0] = True
        for column in (low, b_lo, b_hi, a_lo, a_hi, v6):
            ordered = column[order]
            changed[1:] |= ordered[1:] != ordered[:-1]
        group = np.cumsum(changed) - 1
        index = np.empty(len(order), np.int64)
        index[order] = group
        first = order[segment_starts(group)]
        keys = [
            (_V6 | ah << 192 | al << 128 | bh << 64 | bl) << 40 | rest
            if six
            else ((al << 32) | bl) << 40 | rest
            for six, ah, al, bh, bl, rest in zip(
                v6[first].tolist(),
                a_hi[first].tolist(),
                a_lo[first].tolist(),
                b_hi[first].tolist(),
                b_lo[first].tolist(),
                low[first].tolist(),
                strict=True,
            )
        ]
    return Conversations(
        index=index.astype(np.int64),
        order=order,
        first=first.astype(np.int64),
        keys=keys,
        a_is_src=a_is_src,
        ip_equal=same_ip[first],
        endpoints={
            "family": family,
            "a_hi": a_hi,
            "a_lo": a_lo,
            "a_port": a_port,
            "b_hi": b_hi,
            "b_lo": b_lo,
            "b_port": b_port,
            "protocol": protocol,
        },
    )


def _group(keys: Array) -> tuple[Array, Array, Array]:
    """A stable sort of `keys`: the order, each element's group, each group's first element."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    changed = np.empty(len(keys), np.bool_)
    changed[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=changed[1:])
    group = np.cumsum(changed) - 1
    index = np.empty(len(keys), np.int64)
    index[order] = group
    return order, index, order[changed]


@dataclass(slots=True)
class ConversationState:
    """The rules' state of each conversation of a chunk, as plain lists (read and written)."""

    slot: list[int]  # the open flow's slot, or -1
    start: list[int]  # the open flow's start time (us)
    orient: list[int]  # 1 if the flow's source is endpoint A, 0 if B, -1 not decided yet
    fins: list[int]  # forward FINs the open flow has seen
    ip_equal: list[bool]


@dataclass(frozen=True, slots=True)
class Decisions:
    """What the rules decided for the packets they saw (the `events` of `decide`)."""

    slot: list[int]  # the flow each packet joined (or was dropped from)
    first: list[bool]  # the packet opened its flow
    dropped: list[bool]  # a repeated forward FIN: the reference ignores it
    after: list[int]  # the conversation's open flow after the packet, -1 if it ended one
    # Flat triples (one list converts to numpy much faster than a list of tuples):
    opened: list[int]  # slot, event position, orient of each new flow
    ended: list[int]  # slot, ENDED_BY_*, event position of each ended flow, in order


def decide(
    conversation: list[int],
    time: list[int],
    flags: list[int],
    a_is_src: list[bool],
    state: ConversationState,
    take: Callable[[], int],
    flow_timeout_us: int,
) -> Decisions:
    """`FlowGenerator.addPacket` for a sequence of packets in capture order (see module doc).

    In order: a packet more than the flow timeout after its flow's start opens a new flow (keeping
    the old flow's source and destination); a FIN from the flow's source address counts, and
    from the second one on the packet is dropped (the reference's check for the end of the flow
    adds the backward count to itself, so a forward FIN never ends it); a FIN from the other
    address, or an RST, is added and ends the flow. A flow's first packet is never tested.
    """
    slots, starts, orients, fins, ip_equal = (
        state.slot,
        state.start,
        state.orient,
        state.fins,
        state.ip_equal,
    )
    n = len(conversation)
    slot_of = [0] * n
    first = [False] * n
    dropped = [False] * n
    after = [0] * n
    opened: list[int] = []
    ended: list[int] = []
    for i in range(n):
        c = conversation[i]
        t = time[i]
        slot = slots[c]
        if slot < 0 or t - starts[c] > flow_timeout_us:
            if slot >= 0:
                ended += (slot, ENDED_BY_TIMEOUT, i)
            orient = orients[c]
            if orient < 0:
                orient = orients[c] = int(a_is_src[i])
            slot = slots[c] = take()
            starts[c] = t
            fins[c] = 0
            opened += (slot, i, orient)
            slot_of[i] = after[i] = slot
            first[i] = True
            continue
        slot_of[i] = after[i] = slot
        flag = flags[i]
        if flag & FIN:
            if ip_equal[c] or a_is_src[i] == orients[c]:
                fins[c] += 1
                dropped[i] = fins[c] > 1
                continue
            ended += (slot, ENDED_BY_FIN, i)
        elif flag & RST:
            ended += (slot, ENDED_BY_RST, i)
        else:
            continue
        # The reference removes a flow ended by FIN or RST: the conversation starts afresh.
        slots[c] = -1
        orients[c] = -1
        after[i] = -1
    return Decisions(slot_of, first, dropped, after, opened, ended)
