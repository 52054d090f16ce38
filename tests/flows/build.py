"""Packets described by a few fields, as a `PacketBatch` for the meter or as a capture for `cfm`."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import numpy as np

from flows.meter import FlowMeter
from flows.packets import ACK, DTYPES, TCP, UDP, PacketBatch
from flows.records import FlowBatch
from models.features import FEATURE_NAMES
from tests.flows import craft

T0_US = 1_700_000_000_000_000  # 2023-11-14 22:13:20 UTC
A, B = "10.0.0.1", "10.0.0.2"


@dataclass(frozen=True)
class Packet:
    """One packet, `at` seconds after T0_US; TCP unless `protocol` says otherwise."""

    at: float
    src: str = A
    dst: str = B
    sport: int = 40000
    dport: int = 80
    flags: int = ACK
    payload: int = 0
    window: int = 512
    protocol: int = TCP
    options: int = 0  # TCP option bytes (a multiple of 4)

    @property
    def time_us(self) -> int:
        return T0_US + round(self.at * 1_000_000)

    def reversed(self, at: float, **changes: int) -> Packet:
        """A packet of the same conversation the other way."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(at=at, src=self.dst, dst=self.src, sport=self.dport, dport=self.sport)
        values.update(changes)
        return Packet(**values)


def batch(packets: Sequence[Packet]) -> PacketBatch:
    """The packets as a reader would hand them to the meter."""
    columns: dict[str, list[int]] = {f.name: [] for f in fields(PacketBatch)}
    for number, p in enumerate(packets, 1):
        src, dst = ipaddress.ip_address(p.src), ipaddress.ip_address(p.dst)
        transport = p.protocol in (TCP, UDP)
        tcp = p.protocol == TCP
        row = {
            "number": number,
            "time_us": p.time_us,
            "family": src.version,
            "src_hi": int(src) >> 64,
            "src_lo": int(src) & (2**64 - 1),
            "dst_hi": int(dst) >> 64,
            "dst_lo": int(dst) & (2**64 - 1),
            "protocol": p.protocol,
            "transport": transport,
            "src_port": p.sport if transport else 0,
            "dst_port": p.dport if transport else 0,
            "tcp_flags": p.flags if tcp else 0,
            "window": p.window if tcp else 0,
            "header_len": (20 + p.options if tcp else 8) if transport else 0,
            "payload_len": p.payload if transport else 0,
        }
        for name, value in row.items():
            columns[name].append(int(value))
    return PacketBatch(
        **{name: np.array(values, dtype=DTYPES[name]) for name, values in columns.items()}
    )


def capture(packets: Sequence[Packet]) -> bytes:
    """The packets as an Ethernet pcap file, for the reference."""
    records = []
    for p in packets:
        body = bytes(p.payload)
        if p.protocol == TCP:
            segment = craft.tcp(p.sport, p.dport, p.flags, p.window, body, bytes(p.options))
        elif p.protocol == UDP:
            segment = craft.udp(p.sport, p.dport, body)
        else:
            segment = bytes(8) + body
        if ipaddress.ip_address(p.src).version == 4:
            frame = craft.ethernet(craft.ipv4(segment, p.protocol, p.src, p.dst))
        else:
            frame = craft.ethernet(craft.ipv6(segment, p.protocol, p.src, p.dst), 0x86DD)
        records.append(craft.Record(p.time_us, frame))
    return craft.pcap(records)


@dataclass(frozen=True)
class Flow:
    """One flow, features by name (`extra`: other columns, as a reference CSV's Timestamp)."""

    flow_id: str
    start_us: int
    values: dict[str, float]
    extra: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> float:
        return self.values[name]

    def row(self) -> list[float]:
        return [self.values[name] for name in FEATURE_NAMES]


def flows_of(flows: FlowBatch) -> list[Flow]:
    return [
        Flow(flow_id, start, dict(zip(FEATURE_NAMES, row.tolist(), strict=True)))
        for flow_id, start, row in zip(
            flows.flow_ids(), flows.start_us.tolist(), flows.features, strict=True
        )
    ]


def meter(*batches: Sequence[Packet], **options: int) -> list[Flow]:
    """Meter the packets (one `add` per sequence given), then end the input; flows in order."""
    flow_meter = FlowMeter(**options)
    out = [flow_meter.add(batch(packets)) for packets in batches]
    out.append(flow_meter.flush())
    return flows_of(FlowBatch.concat(out))
