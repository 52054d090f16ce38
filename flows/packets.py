"""Packets as columns: what a reader hands the flow meter, one batch at a time.

A reader (pcap/pcapng file, live interface) decodes each frame's link, IP and transport headers
into one row of a `PacketBatch`; the flow meter never sees bytes. Batches are in capture order and
hold only IP packets; everything else a reader meets is counted in `Skipped` by reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

Column = np.ndarray[Any, Any]

# TCP flag bits, as in the header's 13th byte.
FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = (1 << bit for bit in range(8))

TCP = 6
UDP = 17


@dataclass(frozen=True, slots=True)
class PacketBatch:
    """IP packets in capture order, one row each; every column has the same length.

    Addresses are 128-bit numbers split in two: an IPv4 address is `hi = 0`, `lo = address`,
    with `family` telling it from the IPv6 address `::a.b.c.d`. Ports, flags, window and the
    transport lengths are 0 where the packet has no TCP or UDP header (another IP protocol, or a
    fragment after the first).
    """

    number: Column  # int64: 1-based frame number in its source, counting skipped frames too
    time_us: Column  # int64: capture time, microseconds since the Unix epoch
    family: Column  # uint8: 4 or 6
    src_hi: Column  # uint64
    src_lo: Column  # uint64
    dst_hi: Column  # uint64
    dst_lo: Column  # uint64
    protocol: Column  # uint8: the IP protocol number (6 TCP, 17 UDP, anything else as read)
    transport: Column  # bool: a TCP or UDP header was decoded (not for a later fragment)
    src_port: Column  # uint16
    dst_port: Column  # uint16
    tcp_flags: Column  # uint8: FIN .. CWR bits as above
    window: Column  # uint16: the TCP window field as written (not scaled)
    # The transport segment is read as the reference reads it: up to the IP length's end or the
    # capture's (snap length), whichever comes first; Ethernet padding is never in it.
    header_len: Column  # uint16: TCP data offset * 4 (at most the segment), UDP 8
    payload_len: Column  # uint32: the segment's bytes after the transport header

    def __len__(self) -> int:
        return len(self.number)

    @classmethod
    def empty(cls) -> PacketBatch:
        return cls(**{f.name: np.empty(0, DTYPES[f.name]) for f in fields(cls)})

    @classmethod
    def concat(cls, batches: list[PacketBatch]) -> PacketBatch:
        """The packets of `batches`, in order, as one batch."""
        if len(batches) == 1:
            return batches[0]
        if not batches:
            return cls.empty()
        return cls(
            **{f.name: np.concatenate([getattr(b, f.name) for b in batches]) for f in fields(cls)}
        )


DTYPES: dict[str, type[np.generic]] = {
    "number": np.int64,
    "time_us": np.int64,
    "family": np.uint8,
    "src_hi": np.uint64,
    "src_lo": np.uint64,
    "dst_hi": np.uint64,
    "dst_lo": np.uint64,
    "protocol": np.uint8,
    "transport": np.bool_,
    "src_port": np.uint16,
    "dst_port": np.uint16,
    "tcp_flags": np.uint8,
    "window": np.uint16,
    "header_len": np.uint16,
    "payload_len": np.uint32,
}


class Skipped(Counter[str]):
    """Frames a reader did not turn into packets, by reason (`"not IP"`, `"truncated"`, ...)."""
