"""Captures read from pipes: a FIFO and standard input (`-`), fed as a writer writes them, read
the same packets and meter the same flows as the same bytes in a regular file.

A pipe's packets are metered in the batches they arrive in, a file's in larger ones: statistics
summed batch by batch may then differ in the last bits (well within the reference's 1e-9)."""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

import pytest

from flows.capture import read_packets
from flows.cli import main
from flows.columns import CICFLOWMETER
from flows.errors import NotACaptureError
from flows.packets import ACK, FIN, PSH, SYN, Skipped
from tests.flows import craft
from tests.flows.parity import differences, reference_flows
from tests.flows.read import concat, rows, write

T0 = 1_700_000_000_000_000
PIECE = 1000  # bytes a write: records and the file header are cut across writes


def _records() -> list[craft.Record]:
    """Three TCP conversations and a UDP one, payloads of many sizes, one second apart at most."""
    records = []
    for i in range(600):
        conversation = i % 4
        if conversation == 3:
            segment = craft.udp(5353, 53, b"q" * (i % 97))
            frame = craft.ethernet(craft.ipv4(segment, 17, "10.0.0.3", "10.0.0.1"))
        else:
            flags = SYN if i < 4 else FIN | ACK if i >= 596 else PSH | ACK
            segment = craft.tcp(40000 + conversation, 80, flags, 29200, b"x" * (i * 7 % 1400))
            frame = craft.ethernet(craft.ipv4(segment, 6))
        records.append(craft.Record(T0 + i * 1500, frame))
    return records


CAPTURES: dict[str, Callable[[], bytes]] = {
    "pcap": lambda: craft.pcap(_records()),
    "pcapng": lambda: craft.pcapng(_records()),
}


def _feed(file: BinaryIO, data: bytes) -> None:
    """Write `data` in pieces, pausing now and then as a live writer would, then close."""
    # A reader that stopped early breaks the pipe: its failing test says why.
    with suppress(BrokenPipeError), file:
        for start in range(0, len(data), PIECE):
            file.write(data[start : start + PIECE])
            file.flush()
            if start % (50 * PIECE) == 0:
                time.sleep(0.01)


def _feed_fifo(fifo: Path, data: bytes) -> None:
    # Opening a FIFO's write end waits for its reader: here, not in the test's thread.
    _feed(open(fifo, "wb"), data)  # noqa: SIM115 (closed by _feed)


@contextmanager
def _in_thread(target: Callable[..., None], *args: object) -> Iterator[None]:
    feeder = threading.Thread(target=target, args=args, daemon=True)
    feeder.start()
    try:
        yield
    finally:
        feeder.join(timeout=30)
        assert not feeder.is_alive(), "the writer of the pipe never finished"


@contextmanager
def _stdin_pipe(monkeypatch: pytest.MonkeyPatch, data: bytes) -> Iterator[None]:
    """Standard input as the read end of a pipe that a thread writes `data` into."""
    read_end, write_end = os.pipe()
    with open(read_end, "rb") as reader, open(write_end, "wb") as writer:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(reader))
        with _in_thread(_feed, writer, data):
            yield


@pytest.mark.parametrize(
    "kind", [pytest.param("pcap", id="pcap"), pytest.param("pcapng", id="pcapng")]
)
def test_a_fifo_reads_the_packets_of_the_same_file(tmp_path: Path, kind: str) -> None:
    data = CAPTURES[kind]()
    expected = rows(concat(list(read_packets(write(tmp_path, data, f"c.{kind}")))))
    fifo = tmp_path / f"c.{kind}.fifo"
    os.mkfifo(fifo)
    skipped = Skipped()
    with _in_thread(_feed_fifo, fifo, data):
        got = rows(concat(list(read_packets(fifo, skipped, chunk_bytes=4096))))
    assert got == expected
    assert len(got) == 600
    assert not skipped


@pytest.mark.parametrize(
    "kind", [pytest.param("pcap", id="pcap"), pytest.param("pcapng", id="pcapng")]
)
def test_standard_input_as_dash_writes_the_same_csv_as_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    data = CAPTURES[kind]()
    from_file, from_stdin = tmp_path / "file.csv", tmp_path / "stdin.csv"
    names = ["--names", CICFLOWMETER]
    assert main([str(write(tmp_path, data, f"c.{kind}")), "-o", str(from_file), *names]) == 0
    with _stdin_pipe(monkeypatch, data):
        assert main(["-", "-o", str(from_stdin), *names]) == 0
    flows = reference_flows(from_file)
    assert len(flows) == 4
    assert differences(reference_flows(from_stdin), flows) == []


def test_standard_input_that_is_no_capture_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    with (
        _stdin_pipe(monkeypatch, b"GET / HTTP/1.1\r\n\r\n"),
        pytest.raises(NotACaptureError, match=r"standard input.*47 45 54 20"),
    ):
        list(read_packets("-"))
