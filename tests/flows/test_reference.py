"""What the reader reports for each packet, settled against the reference flow meter.

Each case is one packet, written twice (the reference writes no flow of a single packet), in a
flow of its own. The values below are what `cfm` reported for them; `test_the_reference_agrees`
runs `cfm` again on the same capture, where it can, and compares.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import pytest

from flows.packets import ACK, PSH, SYN
from tests.flows import craft
from tests.flows.read import read_all, rows, write
from tests.flows.reference import run_cfm

T0 = 1_700_000_000_000_000


@dataclass(frozen=True)
class Case:
    name: str
    frame: bytes
    wirelen: int | None  # None: captured whole
    # What the reference reports per packet; None: it drops the packet.
    protocol: int | None
    payload: int = 0
    header: int = 0
    window: int = 0


def _addresses(n: int) -> tuple[str, str]:
    return f"10.0.{n}.1", f"10.0.{n}.2"


def _cases() -> list[Case]:
    cases: list[Case] = []

    def add(name: str, make: object, **kw: object) -> None:
        s, d = _addresses(len(cases) + 1)
        frame, wirelen = make(s, d)  # type: ignore[operator]
        cases.append(Case(name, frame, wirelen, **kw))  # type: ignore[arg-type]

    def whole(frame: bytes) -> tuple[bytes, None]:
        return frame, None

    def cut(frame: bytes, keep: int) -> tuple[bytes, int]:
        return frame[:keep], len(frame)

    e, v4, t, u = craft.ethernet, craft.ipv4, craft.tcp, craft.udp
    add(
        "Ethernet padding is no payload",
        lambda s, d: whole(e(v4(t(1, 80, ACK, 1234), 6, s, d))),
        protocol=6,
        header=20,
        window=1234,
    )
    add(
        "a payload cut by the snap length counts as captured",
        lambda s, d: cut(e(v4(t(2, 80, ACK | PSH, 2345, b"p" * 1000), 6, s, d)), 100),
        protocol=6,
        payload=46,
        header=20,
        window=2345,
    )
    add(
        "the first fragment's payload is its IP length's, not UDP's",
        lambda s, d: whole(e(v4(u(3, 53, b"u" * 3000)[:1480], 17, s, d, more_fragments=True))),
        protocol=17,
        payload=1472,
        header=8,
    )
    add(
        "a TCP header cut by the snap length: protocol 0",
        lambda s, d: cut(e(v4(t(4, 80, ACK, 3456, b"x" * 10), 6, s, d)), 40),
        protocol=0,
    )
    add(
        "TCP options are header",
        lambda s, d: whole(e(v4(t(5, 80, SYN, 65535, options=b"\1" * 20), 6, s, d))),
        protocol=6,
        header=40,
        window=65535,
    )
    add(
        "an 802.1Q tag",
        lambda s, d: whole(e(v4(t(6, 80, ACK, 4567, b"v" * 33), 6, s, d), vlans=[(0x8100, 7)])),
        protocol=6,
        payload=33,
        header=20,
        window=4567,
    )
    add(
        "a later fragment: protocol 0",
        lambda s, d: whole(e(v4(b"l" * 100, 17, s, d, fragment_offset=1480))),
        protocol=0,
    )
    add("ICMP: protocol 0", lambda s, d: whole(e(v4(b"\x08\0" + bytes(40), 1, s, d))), protocol=0)
    add(
        "IPv4 options are no payload",
        lambda s, d: whole(e(v4(u(9, 53, b"o" * 17), 17, s, d, options=b"\1" * 8))),
        protocol=17,
        payload=17,
        header=8,
    )
    add(
        "an IPv4 header cut by the snap length: dropped",
        lambda s, d: cut(e(v4(t(10, 80, ACK, 1, b"y" * 50), 6, s, d)), 25),
        protocol=None,
    )
    add(
        "UDP in a padded frame",
        lambda s, d: whole(e(v4(u(11, 53, b"k" * 2), 17, s, d))),
        protocol=17,
        payload=2,
        header=8,
    )
    add(
        "802.1ad and 802.1Q tags",
        lambda s, d: whole(e(v4(u(12, 53, b"q" * 20), 17, s, d), vlans=[(0x88A8, 3), (0x8100, 7)])),
        protocol=17,
        payload=20,
        header=8,
    )
    add(
        "the UDP length field is not read",
        lambda s, d: whole(e(v4(u(13, 53)[:4] + struct.pack("!HH", 200, 0) + b"m" * 40, 17, s, d))),
        protocol=17,
        payload=40,
        header=8,
    )
    add(
        "an IPv4 total length shorter than the frame",
        lambda s, d: whole(e(v4(t(14, 80, ACK, 5, b"z" * 30), 6, s, d, total_length=50))),
        protocol=6,
        payload=10,
        header=20,
        window=5,
    )
    add(
        "a UDP payload cut by the snap length",
        lambda s, d: cut(e(v4(u(15, 53, b"w" * 500), 17, s, d)), 60),
        protocol=17,
        payload=18,
        header=8,
    )
    add(
        "TCP options cut by the snap length: the header is what was captured",
        lambda s, d: cut(e(v4(t(16, 80, ACK, 77, b"r" * 20, options=b"\1" * 20), 6, s, d)), 64),
        protocol=6,
        header=30,
        window=77,
    )
    add(
        "a TCP data offset below 5: dropped",
        lambda s, d: whole(_with_offset(e(v4(t(17, 80, ACK, 78, b"r" * 20), 6, s, d)), 3)),
        protocol=None,
    )
    add(
        "a TCP data offset past the IP length: the header ends with it",
        lambda s, d: whole(_with_offset(e(v4(t(18, 80, ACK, 79, b"r" * 8), 6, s, d)), 15)),
        protocol=6,
        header=28,
        window=79,
    )
    add(
        "a UDP header cut by the snap length: protocol 0",
        lambda s, d: cut(e(v4(u(19, 53, b"s" * 3), 17, s, d)), 40),
        protocol=0,
    )
    add(
        "an IPv4 total length inside the TCP header: protocol 0",
        lambda s, d: whole(e(v4(t(20, 80, ACK, 80), 6, s, d, total_length=30))),
        protocol=0,
    )
    add(
        "an IPv4 total length below its header's: protocol 0",
        lambda s, d: whole(e(v4(t(21, 80, ACK, 81, b"a" * 10), 6, s, d, total_length=12))),
        protocol=0,
    )
    return cases


def _with_offset(frame: bytes, offset: int) -> bytes:
    out = bytearray(frame)
    out[14 + 20 + 12] = offset << 4
    return bytes(out)


CASES = _cases()


def _capture(tmp_path: Path) -> Path:
    records = []
    for i, case in enumerate(CASES):
        for repeat in range(2):
            records.append(craft.Record(T0 + i * 1000 + repeat * 7, case.frame, case.wirelen))
    return write(tmp_path, craft.pcap(records), "cases.pcap")


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in CASES])
def test_each_packet_reads_as_the_reference_reads_it(tmp_path: Path, case: Case) -> None:
    records = [craft.Record(T0, case.frame, case.wirelen)]
    batch, skipped = read_all(write(tmp_path, craft.pcap(records)))
    if case.protocol is None:
        assert len(batch) == 0
        assert sum(skipped.values()) == 1
        return
    (row,) = rows(batch)
    reference_protocol = row["protocol"] if row["transport"] else 0
    assert (reference_protocol, row["payload_len"], row["header_len"], row["window"]) == (
        case.protocol,
        case.payload,
        case.header,
        case.window,
    )


def test_the_reference_agrees(tmp_path: Path) -> None:
    flows = {row["Flow ID"]: row for row in run_cfm(_capture(tmp_path), tmp_path / "out")}
    seen = {}
    for i, case in enumerate(CASES):
        src, dst = _addresses(i + 1)
        matching = [f for f in flows.values() if f["Src IP"] == src and f["Dst IP"] == dst]
        if case.protocol is None:
            assert not matching, case.name
            continue
        assert len(matching) == 1, case.name
        flow = matching[0]
        seen[case.name] = (
            int(flow["Protocol"]),
            float(flow["Total Length of Fwd Packet"]) / 2,
            int(flow["Fwd Header Length"]) / 2,
            int(flow["FWD Init Win Bytes"]) if case.protocol == 6 else 0,
        )
    assert seen == {
        c.name: (c.protocol, c.payload, c.header, c.window) for c in CASES if c.protocol is not None
    }


def test_nanoseconds_truncate_as_the_reference(tmp_path: Path) -> None:
    frame = craft.ethernet(craft.ipv4(craft.udp(30, 53, b"n"), 17, "10.0.30.1", "10.0.30.2"))
    data = bytearray(craft.pcap([craft.Record(T0, frame)] * 2, nanoseconds=True))
    struct.pack_into("<I", data, 24 + 4, 999)  # .000000999 s
    struct.pack_into("<I", data, 24 + 16 + len(frame) + 4, 2999)  # .000002999 s: 2 us, not 3
    path = write(tmp_path, bytes(data), "ns.pcap")
    batch, _ = read_all(path)
    assert (batch.time_us - T0 // 1_000_000 * 1_000_000).tolist() == [0, 2]
    (flow,) = run_cfm(path, tmp_path / "out")
    assert int(flow["Flow Duration"]) == 2
