"""Classic pcap files: framing, both byte orders and time units, and bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.errors import CorruptCaptureError, NotACaptureError, TruncatedCaptureError
from flows.packets import ACK, SYN
from tests.flows import craft
from tests.flows.read import read_all, rows, write

T0 = 1_700_000_000_123_456

TCP_FRAME = craft.ethernet(
    craft.ipv4(craft.tcp(40000, 80, SYN | ACK, 29200, b"x" * 10, options=b"\x01" * 12), 6)
)
UDP_FRAME = craft.ethernet(craft.ipv4(craft.udp(5353, 53, b"q" * 30), 17, "10.0.0.2", "10.0.0.1"))

EXPECTED = [
    {
        "number": 1,
        "time_us": T0,
        "family": 4,
        "src_hi": 0,
        "src_lo": 0x0A000001,
        "dst_hi": 0,
        "dst_lo": 0x0A000002,
        "protocol": 6,
        "transport": True,
        "src_port": 40000,
        "dst_port": 80,
        "tcp_flags": SYN | ACK,
        "window": 29200,
        "header_len": 32,
        "payload_len": 10,
    },
    {
        "number": 2,
        "time_us": T0 + 1_000_001,
        "family": 4,
        "src_hi": 0,
        "src_lo": 0x0A000002,
        "dst_hi": 0,
        "dst_lo": 0x0A000001,
        "protocol": 17,
        "transport": True,
        "src_port": 5353,
        "dst_port": 53,
        "tcp_flags": 0,
        "window": 0,
        "header_len": 8,
        "payload_len": 30,
    },
]


@pytest.mark.parametrize(
    ("byte_order", "nanoseconds"),
    [
        pytest.param("<", False, id="little-endian microseconds"),
        pytest.param(">", False, id="big-endian microseconds"),
        pytest.param("<", True, id="little-endian nanoseconds"),
        pytest.param(">", True, id="big-endian nanoseconds"),
    ],
)
def test_each_pcap_flavour_reads_the_same_packets(
    tmp_path: Path, byte_order: str, nanoseconds: bool
) -> None:
    records = [craft.Record(T0, TCP_FRAME), craft.Record(T0 + 1_000_001, UDP_FRAME)]
    data = craft.pcap(records, byte_order=byte_order, nanoseconds=nanoseconds)
    batch, skipped = read_all(write(tmp_path, data))
    assert rows(batch) == EXPECTED
    assert not skipped


def test_nanoseconds_are_truncated_to_microseconds(tmp_path: Path) -> None:
    data = bytearray(craft.pcap([craft.Record(T0, TCP_FRAME)], nanoseconds=True))
    data[28:32] = (123_456_999).to_bytes(4, "little")  # the record's sub-second field
    batch, _ = read_all(write(tmp_path, bytes(data)))
    assert batch.time_us.tolist() == [T0 // 1_000_000 * 1_000_000 + 123_456]


def test_records_cut_by_chunk_boundaries_read_the_same(tmp_path: Path) -> None:
    records = [
        craft.Record(T0 + i, TCP_FRAME if i % 3 else UDP_FRAME + bytes(i % 700))
        for i in range(2000)
    ]
    path = write(tmp_path, craft.pcap(records))
    whole, _ = read_all(path)
    small, _ = read_all(path, chunk_bytes=1000)
    assert len(whole) == 2000
    assert rows(small) == rows(whole)


def test_a_file_cut_inside_a_record_keeps_what_came_before(tmp_path: Path) -> None:
    data = craft.pcap([craft.Record(T0, TCP_FRAME), craft.Record(T0 + 1, UDP_FRAME)])
    batch, skipped = read_all(write(tmp_path, data[:-10]))
    assert batch.number.tolist() == [1]
    assert skipped == {"the file ends inside a packet record (the capture was cut short)": 1}


def test_a_file_cut_inside_its_header_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, craft.pcap([])[:20])
    with pytest.raises(TruncatedCaptureError, match=r"capture\.pcap: the file ends inside its"):
        read_all(path)


def test_a_file_that_is_no_capture_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, b"Flow ID,Src IP,Src Port\n1,2,3\n", "flows.csv")
    with pytest.raises(NotACaptureError, match=r"flows\.csv: not a pcap or pcapng file") as found:
        read_all(path)
    assert "a flow file? `ids-inference score` scores those" in str(found.value)


def test_binary_that_is_no_capture_gets_no_flow_file_hint(tmp_path: Path) -> None:
    path = write(tmp_path, bytes(range(1, 64)), "blob.bin")
    with pytest.raises(NotACaptureError, match=r"blob\.bin: not a pcap") as found:
        read_all(path)
    assert "flow file" not in str(found.value)


def test_a_record_length_past_any_packet_is_an_error_naming_it(tmp_path: Path) -> None:
    data = bytearray(craft.pcap([craft.Record(T0 + i, TCP_FRAME) for i in range(5)]))
    third = 24 + 2 * (16 + len(TCP_FRAME))
    data[third + 8 : third + 12] = (10_000_000).to_bytes(4, "little")
    path = write(tmp_path, bytes(data))
    with pytest.raises(CorruptCaptureError, match=r"capture\.pcap, packet 3: the record says"):
        read_all(path)
