"""Frames to packets: link types, VLAN tags, IPv6 extension headers, fragments, and skip reasons."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from flows.packets import ACK, FIN, PSH, SYN
from tests.flows import craft
from tests.flows.read import read_all, rows, write

T0 = 1_600_000_000_000_000

V6_TCP = craft.ethernet(
    craft.ipv6(craft.tcp(443, 50000, ACK | PSH, 100, b"y" * 7), 6),
    0x86DD,
)
V6_EXTENSIONS = craft.ethernet(
    craft.ipv6(
        craft.udp(53, 5353, b"z" * 11),
        17,
        extensions=[(0, bytes(6)), (43, bytes(14)), (60, bytes(6)), (51, bytes(14))],
    ),
    0x86DD,
)
V6_LATER_FRAGMENT = craft.ethernet(
    craft.ipv6(b"w" * 24, 6, extensions=[(44, struct.pack("!HI", 185 << 3, 9))]), 0x86DD
)
V6_FIRST_FRAGMENT = craft.ethernet(
    craft.ipv6(craft.tcp(1, 2, SYN, 7, b"v" * 16), 6, extensions=[(44, struct.pack("!HI", 1, 9))]),
    0x86DD,
)
V4_TCP = craft.ethernet(craft.ipv4(craft.tcp(1234, 80, FIN | ACK, 300, b"a" * 5), 6))
V4_UDP = craft.ethernet(craft.ipv4(craft.udp(9, 10, b"b" * 100), 17))
V4_ICMP = craft.ethernet(craft.ipv4(b"\x08\x00" + bytes(30), 1))
V4_FIRST_FRAGMENT = craft.ethernet(
    craft.ipv4(craft.tcp(5, 6, ACK, 8, b"c" * 40), 6, more_fragments=True)
)
V4_LATER_FRAGMENT = craft.ethernet(craft.ipv4(b"d" * 40, 6, fragment_offset=48))
V4_OPTIONS = craft.ethernet(craft.ipv4(craft.udp(7, 8, b"e" * 3), 17, options=b"\x01" * 8))

MIXED = [
    V4_TCP,
    V4_UDP,
    V6_TCP,
    V6_EXTENSIONS,
    V4_ICMP,
    V4_FIRST_FRAGMENT,
    V4_LATER_FRAGMENT,
    V6_FIRST_FRAGMENT,
    V6_LATER_FRAGMENT,
    V4_OPTIONS,
]


def _read(
    tmp_path: Path, frames: list[bytes], link_type: int = craft.ETHERNET, **kw: int
) -> tuple[list[dict[str, int]], dict[str, int]]:
    records = [craft.Record(T0 + i, frame) for i, frame in enumerate(frames)]
    batch, skipped = read_all(write(tmp_path, craft.pcap(records, link_type, **kw)))  # type: ignore[arg-type]
    return rows(batch), dict(skipped)


def _pick(row: dict[str, int], *names: str) -> tuple[int, ...]:
    return tuple(row[name] for name in names)


FACTS = (
    "family",
    "protocol",
    "transport",
    "src_port",
    "dst_port",
    "tcp_flags",
    "window",
    "header_len",
    "payload_len",
)


def test_each_kind_of_ip_packet_gives_the_reference_facts(tmp_path: Path) -> None:
    got, skipped = _read(tmp_path, MIXED)
    assert not skipped
    assert [_pick(r, *FACTS) for r in got] == [
        (4, 6, True, 1234, 80, FIN | ACK, 300, 20, 5),
        (4, 17, True, 9, 10, 0, 0, 8, 100),
        (6, 6, True, 443, 50000, ACK | PSH, 100, 20, 7),
        (6, 17, True, 53, 5353, 0, 0, 8, 11),
        (4, 1, False, 0, 0, 0, 0, 0, 0),  # ICMP: no ports, the reference's protocol 0
        (4, 6, True, 5, 6, ACK, 8, 20, 40),  # the first fragment still has its TCP header
        (4, 6, False, 0, 0, 0, 0, 0, 0),  # a later fragment has none
        (6, 6, True, 1, 2, SYN, 7, 20, 16),
        (6, 6, False, 0, 0, 0, 0, 0, 0),
        (4, 17, True, 7, 8, 0, 0, 8, 3),  # IPv4 options are no payload
    ]
    assert [r["number"] for r in got] == list(range(1, 11))
    assert _pick(got[2], "src_hi", "src_lo", "dst_hi", "dst_lo") == (
        0x20010DB800000000,
        1,
        0x20010DB800000000,
        2,
    )


@pytest.mark.parametrize(
    "vlans",
    [
        pytest.param([(0x8100, 5)], id="802.1Q"),
        pytest.param([(0x88A8, 100), (0x8100, 5)], id="802.1ad stacked on 802.1Q"),
        pytest.param([(0x9100, 1), (0x8100, 2), (0x8100, 3)], id="three tags"),
    ],
)
def test_vlan_tags_are_walked_past(tmp_path: Path, vlans: list[tuple[int, int]]) -> None:
    plain, _ = _read(tmp_path, [V4_TCP, V6_TCP])
    tagged = [
        craft.ethernet(f[14:], struct.unpack("!H", f[12:14])[0], vlans) for f in (V4_TCP, V6_TCP)
    ]
    got, skipped = _read(tmp_path, tagged)
    assert got == plain
    assert not skipped


LINK_TYPES = [
    pytest.param(craft.RAW, "<", id="LINKTYPE_RAW 101"),
    pytest.param(12, "<", id="DLT_RAW 12"),
    pytest.param(14, "<", id="DLT_RAW 14 (OpenBSD)"),
    pytest.param(craft.LINUX_SLL, "<", id="Linux cooked v1"),
    pytest.param(craft.LINUX_SLL2, "<", id="Linux cooked v2"),
    pytest.param(craft.NULL, "<", id="BSD loopback, little-endian host"),
    pytest.param(craft.NULL, ">", id="BSD loopback, big-endian host"),
    pytest.param(craft.LOOP, "<", id="OpenBSD loopback"),
]


@pytest.mark.parametrize(("link_type", "host_order"), LINK_TYPES)
def test_other_link_types_give_the_ethernet_facts(
    tmp_path: Path, link_type: int, host_order: str
) -> None:
    ethernet, _ = _read(tmp_path, MIXED)
    frames = [craft.relink(f, link_type, host_order) for f in MIXED]
    got, skipped = _read(tmp_path, frames, link_type)
    assert got == ethernet
    assert not skipped


@pytest.mark.parametrize(
    ("link_type", "frames"),
    [
        pytest.param(craft.IPV4, [V4_TCP, V4_UDP, V4_ICMP], id="LINKTYPE_IPV4"),
        pytest.param(craft.IPV6, [V6_TCP, V6_EXTENSIONS], id="LINKTYPE_IPV6"),
    ],
)
def test_single_version_link_types(tmp_path: Path, link_type: int, frames: list[bytes]) -> None:
    ethernet, _ = _read(tmp_path, frames)
    got, skipped = _read(tmp_path, [craft.relink(f, link_type) for f in frames], link_type)
    assert got == ethernet
    assert not skipped


def test_real_ethernet_captures_convert_to_every_link_type(tmp_path: Path, pcaps_dir: Path) -> None:
    from tests.flows.read import read_all as read

    source = pcaps_dir / "udp.pcap"
    ethernet, _ = read(source)
    frames = craft.frames_of(source.read_bytes())
    for link_type in (craft.RAW, craft.LINUX_SLL, craft.LINUX_SLL2, craft.NULL, craft.LOOP):
        records = [craft.Record(t, craft.relink(f, link_type)) for t, f in frames]
        got, skipped = read(write(tmp_path, craft.pcap(records, link_type), f"{link_type}.pcap"))
        assert rows(got) == rows(ethernet), link_type
        assert not skipped


def test_ethernet_padding_is_not_payload(tmp_path: Path) -> None:
    small = craft.ethernet(craft.ipv4(craft.tcp(1, 2, ACK, 3), 6))
    assert len(small) == 60  # 54 bytes of headers, padded to Ethernet's minimum
    got, _ = _read(tmp_path, [small, small + bytes(20)])
    assert [r["payload_len"] for r in got] == [0, 0]


SKIPS = [
    pytest.param(craft.ethernet(bytes(28), 0x0806), "not IP (ARP)", id="ARP"),
    pytest.param(craft.ethernet(bytes(40), 0x88CC), "not IP (LLDP)", id="LLDP"),
    pytest.param(
        craft.ethernet(bytes(40), 0x1234), "not IP (EtherType 0x1234)", id="unknown EtherType"
    ),
    pytest.param(
        craft.ethernet(bytes(40), 46), "not IP (802.3 frame with an LLC header)", id="802.3 LLC"
    ),
    pytest.param(
        V4_TCP[:10], "malformed Ethernet frame (shorter than its header)", id="short Ethernet"
    ),
    pytest.param(V4_TCP[:14] + b"\x45" + bytes(10), "malformed IPv4 header", id="short IPv4"),
    pytest.param(V4_TCP[:14] + b"\x65" + V4_TCP[15:], "malformed IPv4 header", id="IPv4 version 6"),
    pytest.param(
        V4_TCP[:14] + b"\x44" + V4_TCP[15:], "malformed IPv4 header", id="IPv4 header length 16"
    ),
    pytest.param(V6_TCP[:30], "malformed IPv6 header", id="short IPv6"),
    pytest.param(
        craft.ethernet(craft.ipv6(b"", 0, extensions=[(60, bytes(6))] * 17), 0x86DD),
        "malformed IPv6 extension header",
        id="endless IPv6 extension headers",
    ),
    pytest.param(
        craft.ethernet(bytes(46), 0x8100, [(0x8100, 1)] * 9),
        "more than 8 stacked VLAN tags",
        id="nine VLAN tags",
    ),
]


@pytest.mark.parametrize(("frame", "reason"), SKIPS)
def test_frames_that_are_no_ip_packet_are_counted_by_reason(
    tmp_path: Path, frame: bytes, reason: str
) -> None:
    got, skipped = _read(tmp_path, [V4_TCP, frame, V4_UDP])
    assert [r["number"] for r in got] == [1, 3]
    assert skipped == {reason: 1}


def test_snap_length_cuts_are_named(tmp_path: Path) -> None:
    records = [
        craft.Record(T0, V4_TCP[:30], wirelen=len(V4_TCP)),  # inside the IPv4 header
        craft.Record(T0 + 1, V6_TCP[:50], wirelen=len(V6_TCP)),  # inside the IPv6 header
        craft.Record(T0 + 2, V4_TCP[:10], wirelen=len(V4_TCP)),  # inside the Ethernet header
    ]
    batch, skipped = read_all(write(tmp_path, craft.pcap(records, snaplen=64)))
    assert len(batch) == 0
    assert skipped == {"truncated by the capture's snap length": 3}


def test_a_cut_transport_header_leaves_an_ip_packet(tmp_path: Path) -> None:
    records = [craft.Record(T0, V4_TCP[:40], wirelen=len(V4_TCP))]  # 6 bytes of TCP
    batch, skipped = read_all(write(tmp_path, craft.pcap(records, snaplen=40)))
    assert _pick(rows(batch)[0], *FACTS) == (4, 6, False, 0, 0, 0, 0, 0, 0)
    assert not skipped


def test_unread_link_types_are_counted(tmp_path: Path) -> None:
    got, skipped = _read(tmp_path, [V4_TCP], link_type=105)
    assert got == []
    assert skipped == {"link type 105 not read": 1}
