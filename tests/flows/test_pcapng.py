"""pcapng files: sections, interfaces, timestamp resolutions, packet block kinds, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.errors import CorruptCaptureError
from tests.flows import craft
from tests.flows.read import read_all, rows, write
from tests.flows.test_pcap import EXPECTED, T0, TCP_FRAME, UDP_FRAME

RECORDS = [craft.Record(T0, TCP_FRAME), craft.Record(T0 + 1_000_001, UDP_FRAME)]


@pytest.mark.parametrize(
    ("byte_order", "block"),
    [
        pytest.param("<", "enhanced", id="little-endian enhanced blocks"),
        pytest.param(">", "enhanced", id="big-endian enhanced blocks"),
        pytest.param("<", "obsolete", id="little-endian obsolete blocks"),
        pytest.param(">", "obsolete", id="big-endian obsolete blocks"),
    ],
)
def test_each_pcapng_flavour_reads_as_the_pcap(tmp_path: Path, byte_order: str, block: str) -> None:
    path = write(tmp_path, craft.pcapng(RECORDS, byte_order=byte_order, block=block), "c.pcapng")
    batch, skipped = read_all(path)
    assert rows(batch) == EXPECTED
    assert not skipped


@pytest.mark.parametrize(
    ("tsresol", "base"),
    [
        pytest.param(None, T0, id="default microseconds"),
        pytest.param(9, T0, id="nanoseconds"),
        pytest.param(3, T0 // 1000 * 1000, id="milliseconds"),
        pytest.param(0x80 | 20, T0, id="2^-20 seconds"),
        pytest.param(0x80 | 50, 1_000_123_456, id="2^-50 seconds"),
    ],
)
def test_timestamp_resolutions_become_microseconds(
    tmp_path: Path, tsresol: int | None, base: int
) -> None:
    records = [craft.Record(base + i * 1_000_001, TCP_FRAME) for i in range(3)]
    path = write(tmp_path, craft.pcapng(records, [craft.Interface(tsresol=tsresol)]), "c.pcapng")
    batch, _ = read_all(path)
    ticks = [craft.ticks(r.time_us, tsresol) for r in records]
    if tsresol is None:
        expected = ticks
    elif tsresol & 0x80:
        expected = [(t * 1_000_000) >> (tsresol & 0x7F) for t in ticks]
    else:
        expected = [t * 10 ** (6 - tsresol) if tsresol < 6 else t // 1000 for t in ticks]
    assert batch.time_us.tolist() == expected


def test_interfaces_keep_their_own_link_type_and_resolution(tmp_path: Path) -> None:
    interfaces = [craft.Interface(), craft.Interface(link_type=craft.RAW, tsresol=9)]
    records = [
        craft.Record(T0, TCP_FRAME, interface=0),
        craft.Record(T0 + 1_000_001, UDP_FRAME[14:], interface=1),  # the IP packet alone
    ]
    path = write(tmp_path, craft.pcapng(records, interfaces), "c.pcapng")
    batch, skipped = read_all(path)
    expected = [dict(EXPECTED[0]), dict(EXPECTED[1])]
    assert rows(batch) == expected
    assert not skipped


def test_simple_blocks_take_the_time_before_them(tmp_path: Path) -> None:
    data = craft.section_header() + craft.interface_block(craft.Interface())
    data += craft.packet_block(RECORDS[0], craft.Interface(), "<", "enhanced")
    data += craft.packet_block(RECORDS[1], craft.Interface(), "<", "simple")
    batch, _ = read_all(write(tmp_path, data, "c.pcapng"))
    assert batch.time_us.tolist() == [T0, T0]
    assert batch.payload_len.tolist() == [10, 30]


def test_sections_in_both_byte_orders_and_unknown_blocks(tmp_path: Path) -> None:
    first = craft.pcapng(RECORDS[:1], byte_order="<", extra_blocks=[craft.custom_block("<")])
    second = craft.pcapng(RECORDS[1:], byte_order=">", extra_blocks=[craft.custom_block(">")])
    batch, skipped = read_all(write(tmp_path, first + second, "c.pcapng"))
    assert rows(batch) == EXPECTED
    assert not skipped


def test_blocks_cut_by_chunk_boundaries_read_the_same(tmp_path: Path) -> None:
    records = [craft.Record(T0 + i, TCP_FRAME + bytes(i % 900)) for i in range(1500)]
    path = write(tmp_path, craft.pcapng(records), "c.pcapng")
    whole, _ = read_all(path)
    small, _ = read_all(path, chunk_bytes=500)
    assert len(whole) == 1500
    assert rows(small) == rows(whole)


def test_a_packet_of_an_undescribed_interface_is_counted(tmp_path: Path) -> None:
    records = [RECORDS[0], craft.Record(T0, UDP_FRAME, interface=0)]
    data = bytearray(craft.pcapng(records))
    second = len(data) - (32 + len(UDP_FRAME) + (-len(UDP_FRAME) % 4))
    data[second + 8 : second + 12] = (7).to_bytes(4, "little")
    batch, skipped = read_all(write(tmp_path, bytes(data), "c.pcapng"))
    assert batch.number.tolist() == [1]
    assert skipped == {"packet of an interface its section does not describe": 1}


def test_a_file_cut_inside_a_block_keeps_what_came_before(tmp_path: Path) -> None:
    data = craft.pcapng(RECORDS)
    batch, skipped = read_all(write(tmp_path, data[:-8], "c.pcapng"))
    assert batch.number.tolist() == [1]
    assert skipped == {"the file ends inside a block (the capture was cut short)": 1}


def test_a_block_length_that_cannot_be_is_an_error_naming_the_packet(tmp_path: Path) -> None:
    data = bytearray(craft.pcapng(RECORDS))
    second = len(data) - (32 + len(UDP_FRAME) + (-len(UDP_FRAME) % 4))
    data[second + 4 : second + 8] = (13).to_bytes(4, "little")
    path = write(tmp_path, bytes(data), "c.pcapng")
    with pytest.raises(CorruptCaptureError, match=r"c\.pcapng, packet 2: the block at byte"):
        read_all(path)
