"""Bad bytes: a reader ends every call with packets, counted skips or a `CaptureError`, and
nothing else (no IndexError, no hang, no other exception)."""

from __future__ import annotations

import signal
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.capture import read_packets
from flows.errors import CaptureError
from flows.packets import Skipped
from tests.flows import craft
from tests.flows.read import concat, rows
from tests.flows.test_decode import MIXED, V4_TCP, V6_EXTENSIONS

FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
LINK_TYPES = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 105, 0xFFFF]


class Hung(Exception):
    pass


@contextmanager
def _at_most(seconds: int) -> Iterator[None]:
    def hung(signum: int, frame: FrameType | None) -> None:
        raise Hung(f"a read took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _read(path: Path, data: bytes, chunk_bytes: int) -> None:
    path.write_bytes(data)
    skipped = Skipped()
    with _at_most(20):
        error: CaptureError | None = None
        try:
            packets = sum(len(b) for b in read_packets(path, skipped, chunk_bytes=chunk_bytes))
        except CaptureError as raised:
            error = raised
    if error is not None:
        assert str(error).startswith(str(path))
        return
    assert packets >= 0
    assert all(count > 0 for count in skipped.values())


def _frames() -> st.SearchStrategy[bytes]:
    mutated = st.tuples(
        st.sampled_from([*MIXED, V4_TCP, V6_EXTENSIONS]), st.binary(max_size=8), st.integers(0, 80)
    )
    return st.one_of(
        st.binary(max_size=120),
        mutated.map(lambda t: t[0][: t[2]] + t[1] + t[0][t[2] + len(t[1]) :]),
        st.sampled_from(MIXED).flatmap(lambda f: st.integers(0, len(f)).map(lambda n: f[:n])),
    )


@FUZZ
@given(
    frames=st.lists(st.tuples(_frames(), st.integers(0, 300)), max_size=12),
    link_type=st.sampled_from(LINK_TYPES),
    order=st.sampled_from(["<", ">"]),
    nanoseconds=st.booleans(),
    chunk_bytes=st.integers(1, 600),
)
def test_pcap_frames_of_any_bytes(
    tmp_path: Path,
    frames: list[tuple[bytes, int]],
    link_type: int,
    order: str,
    nanoseconds: bool,
    chunk_bytes: int,
) -> None:
    records = [craft.Record(i, f, len(f) + extra) for i, (f, extra) in enumerate(frames)]
    data = craft.pcap(records, link_type, byte_order=order, nanoseconds=nanoseconds)
    _read(tmp_path / "f.pcap", data, chunk_bytes)


def _damaged(data: bytes) -> st.SearchStrategy[bytes]:
    """`data` with bytes overwritten, cut, or inserted somewhere."""
    where = st.integers(0, len(data))
    return st.one_of(
        st.tuples(where, st.binary(min_size=1, max_size=8)).map(
            lambda t: data[: t[0]] + t[1] + data[t[0] + len(t[1]) :]
        ),
        where.map(lambda n: data[:n]),
        st.tuples(where, st.binary(min_size=1, max_size=8)).map(
            lambda t: data[: t[0]] + t[1] + data[t[0] :]
        ),
    )


def _valid_pcapng(order: str, block: str) -> bytes:
    interfaces = [craft.Interface(), craft.Interface(craft.RAW, tsresol=9)]
    records = [craft.Record(1000 + i, f) for i, f in enumerate(MIXED)]
    if block != "simple":  # a simple block belongs to the first interface
        records.append(craft.Record(5000, MIXED[0][14:], interface=1))
    return craft.pcapng(
        records, interfaces, byte_order=order, block=block, extra_blocks=[craft.custom_block(order)]
    )


PCAPNGS = [_valid_pcapng(o, b) for o in "<>" for b in ("enhanced", "simple", "obsolete")]
PCAPS = [
    craft.pcap(
        [craft.Record(1000 + i, f) for i, f in enumerate(MIXED)], byte_order=o, nanoseconds=n
    )
    for o in "<>"
    for n in (False, True)
]


@FUZZ
@given(data=st.sampled_from(PCAPS + PCAPNGS).flatmap(_damaged), chunk_bytes=st.integers(1, 2000))
def test_damaged_captures(tmp_path: Path, data: bytes, chunk_bytes: int) -> None:
    _read(tmp_path / "f.cap", data, chunk_bytes)


@FUZZ
@given(
    body=st.binary(max_size=600),
    magic=st.sampled_from([b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\x3c\x4d", b"\x0a\x0d\x0d\x0a", b""]),
    chunk_bytes=st.integers(1, 700),
)
def test_any_bytes_after_a_magic_number(
    tmp_path: Path, body: bytes, magic: bytes, chunk_bytes: int
) -> None:
    _read(tmp_path / "f.cap", magic + body, chunk_bytes)


@FUZZ
@given(
    blocks=st.lists(
        st.tuples(st.sampled_from([1, 2, 3, 5, 6, 0x0A0D0D0A, 0xBAD, 77]), st.binary(max_size=64)),
        max_size=8,
    ),
    order=st.sampled_from(["<", ">"]),
)
def test_pcapng_blocks_of_any_body(
    tmp_path: Path, blocks: list[tuple[int, bytes]], order: str
) -> None:
    data = craft.section_header(order)
    for kind, body in blocks:
        body += bytes(-len(body) % 4)
        length = 12 + len(body)
        data += struct.pack(order + "II", kind, length) + body + struct.pack(order + "I", length)
    _read(tmp_path / "f.pcapng", data, 64)


@FUZZ
@given(data=st.sampled_from(PCAPS + PCAPNGS), chunk_bytes=st.integers(1, 3000))
def test_any_chunk_size_reads_a_good_capture_whole(
    tmp_path: Path, data: bytes, chunk_bytes: int
) -> None:
    path = tmp_path / "f.cap"
    path.write_bytes(data)
    whole = rows(concat(list(read_packets(path))))
    skipped = Skipped()
    chunked = rows(concat(list(read_packets(path, skipped, chunk_bytes=chunk_bytes))))
    assert chunked == whole
    assert len(whole) in (len(MIXED), len(MIXED) + 1)
    assert not skipped
