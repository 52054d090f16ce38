"""The meter against a line-for-line port of the reference (tests/flows/oracle.py) on generated
packets: any mix of conversations, flags, gaps on both sides of every threshold, any split into
batches and chunks, and the packet clock's expiry. Same flows, every feature within 1e-9."""

from __future__ import annotations

import ipaddress
import itertools
import math
from collections.abc import Sequence

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.meter import FlowMeter
from flows.packets import ACK, DTYPES, FIN, PSH, RST, SYN, TCP, UDP, URG, PacketBatch
from flows.records import FlowBatch
from tests.flows.build import Flow, flows_of
from tests.flows.oracle import Generator, Pkt
from tests.flows.parity import differences

ADDRESSES = ("10.0.0.1", "10.0.0.2", "10.0.0.3", "fe80::1")
PORTS = (80, 40000)
# Gaps between packets (us): both sides of 1 s (subflows, bulk), 5 s (activity), 120 s (timeout).
# And -3: a packet stamped a little before its predecessor.
GAPS: tuple[int, ...] = (0, 1, 250, 999_999, 1_000_000, 1_000_001, 4_999_999, 5_000_001)
GAPS += (60_000_000, 119_999_999, 120_000_001, -3)
FLAGS = (ACK, SYN, SYN | ACK, PSH | ACK, FIN | ACK, RST, RST | ACK, FIN | RST, URG | ACK, 0xC0)


@st.composite
def packets(draw: st.DrawFn) -> list[Pkt]:
    base = draw(st.sampled_from((0, 1_700_000_000_000_000)))  # 0: the bulk state's "no run"
    count = draw(st.integers(1, 60))
    time = base
    out = []
    for _ in range(count):
        time = max(0, time + draw(st.sampled_from(GAPS)))
        src = draw(st.sampled_from(ADDRESSES[:3]))
        dst = draw(st.sampled_from(ADDRESSES[:3]))  # sometimes the same: all forward
        if draw(st.integers(0, 19)) == 0:
            src, dst = "fe80::1", "fe80::2"
        protocol = draw(st.sampled_from((TCP, TCP, TCP, UDP, 1)))
        transport = protocol in (TCP, UDP)
        out.append(
            Pkt(
                time_us=time,
                src=src,
                dst=dst,
                sport=draw(st.sampled_from(PORTS)) if transport else 0,
                dport=draw(st.sampled_from(PORTS)) if transport else 0,
                protocol=protocol if transport else 0,
                flags=draw(st.sampled_from(FLAGS)) if protocol == TCP else 0,
                payload=draw(st.sampled_from((0, 0, 1, 100, 1460))) if transport else 0,
                header=(20 + draw(st.sampled_from((0, 12)))) if protocol == TCP else 8 * transport,
                window=draw(st.integers(0, 65535)) if protocol == TCP else 0,
            )
        )
    return out


def batch(packets: Sequence[Pkt]) -> PacketBatch:
    columns: dict[str, list[int]] = {name: [] for name in DTYPES}
    for number, p in enumerate(packets, 1):
        src, dst = ipaddress.ip_address(p.src), ipaddress.ip_address(p.dst)
        row = {
            "number": number,
            "time_us": p.time_us,
            "family": src.version,
            "src_hi": int(src) >> 64,
            "src_lo": int(src) & (2**64 - 1),
            "dst_hi": int(dst) >> 64,
            "dst_lo": int(dst) & (2**64 - 1),
            "protocol": p.protocol or 1,
            "transport": p.protocol != 0,
            "src_port": p.sport,
            "dst_port": p.dport,
            "tcp_flags": p.flags,
            "window": p.window,
            "header_len": p.header,
            "payload_len": p.payload,
        }
        for name, value in row.items():
            columns[name].append(int(value))
    return PacketBatch(**{name: np.array(v, dtype=DTYPES[name]) for name, v in columns.items()})


def reference(packets: Sequence[Pkt]) -> list[Flow]:
    generator = Generator()
    for p in packets:
        generator.add(p)
    return [Flow(key, flow.start, flow.features()) for key, flow in generator.finish()]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    packets=packets(),
    cuts=st.lists(st.integers(0, 60), max_size=4),
    chunk=st.sampled_from((1, 2, 3, 7, 1 << 16)),
)
def test_the_meter_agrees_with_the_reference_port(
    packets: list[Pkt], cuts: list[int], chunk: int
) -> None:
    meter = FlowMeter(chunk_packets=chunk)
    bounds = sorted({0, len(packets), *(c for c in cuts if c < len(packets))})
    out = [meter.add(batch(packets[a:b])) for a, b in itertools.pairwise(bounds)]
    out.append(meter.flush())
    ours = flows_of(FlowBatch.concat(out))
    theirs = reference(packets)
    found = differences(ours, theirs)
    assert not found, "\n".join(found)
    assert len(ours) == len(theirs)
    assert math.isfinite(sum(f["Flow Duration"] for f in ours))
