"""Capture files of either format: `read_packets(path)` yields `PacketBatch`es, chunk by chunk.

The format is told by the first bytes, read once: standard input (`-`), a FIFO or any other pipe
is read like a file, as its writer writes (`tcpdump -w - | ids-inference flows - -o out.csv`).
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from io import BufferedIOBase
from pathlib import Path
from typing import cast

from flows import pcap, pcapng
from flows.chunks import CHUNK_BYTES
from flows.errors import CaptureError, NotACaptureError, TruncatedCaptureError
from flows.packets import PacketBatch, Skipped

STDIN = "-"
STDIN_NAME = "standard input"
# A file's chunks are decoded a cache-sized piece at a time (`flows.chunks`) and handed on in
# batches of up to this many packets: the meter's work per batch is then small beside its
# packets' (measured: 20% less meter CPU at 32,768 packets a batch than at 4,600).
BATCH_PACKETS = 1 << 15


def capture_format(magic: bytes) -> str | None:
    """`pcap` or `pcapng` when `magic` (a file's first four bytes) opens a capture, else None."""
    if magic in pcap.MAGICS:
        return "pcap"
    return "pcapng" if magic == pcapng.SECTION_MAGIC else None


def read_packets(
    path: str | Path,
    skipped: Skipped | None = None,
    *,
    chunk_bytes: int = CHUNK_BYTES,
    batch_packets: int = BATCH_PACKETS,
) -> Iterator[PacketBatch]:
    """The IP packets of a pcap or pcapng file, in capture order, in batches.

    `path` `-` reads standard input. Frames that are not IP packets are counted by reason in
    `skipped` (pass one to read the counts; several files may share one). Bad files raise a
    `CaptureError` naming the file and packet, after every packet before the damage has been
    yielded. A regular file's packets come in batches of up to `batch_packets` (a larger chunk's
    in one); a pipe's as they arrive.
    """
    skipped = Skipped() if skipped is None else skipped
    name = STDIN_NAME if str(path) == STDIN else str(path)
    opened: AbstractContextManager[BufferedIOBase]
    if str(path) == STDIN:
        opened = nullcontext(cast(BufferedIOBase, sys.stdin.buffer))  # not ours to close
    else:
        try:
            opened = open(path, "rb")  # noqa: SIM115 (closed below, also when the caller stops early)
        except OSError as error:
            raise CaptureError(name, f"cannot open: {error.strerror or error}") from error
    with opened as file:
        stream = not _regular(file)
        magic = file.read(4)  # a pipe cannot seek back: the readers take these bytes as read
        kind = capture_format(magic)
        if kind is not None:
            reader = pcap.read if kind == "pcap" else pcapng.read
            batches = reader(file, name, skipped, chunk_bytes, prefix=magic, stream=stream)
        elif len(magic) < 4:
            raise TruncatedCaptureError(name, f"the file holds {len(magic)} bytes: no capture")
        else:
            raise NotACaptureError(name, _not_a_capture(magic))
        yield from batches if stream else _coalesced(batches, batch_packets)


def _not_a_capture(magic: bytes) -> str:
    found = f"not a pcap or pcapng file (it starts with the bytes {magic.hex(' ')})"
    if magic == b"PAR1" or magic[:2] == b"\x1f\x8b" or all(32 <= b < 127 for b in magic):
        # Parquet, gzip or text: most likely flows already; the flow meter reads packets
        return f"{found}; a flow file? `ids-inference score` scores those"
    return found


def _regular(file: BufferedIOBase) -> bool:
    try:
        return stat.S_ISREG(os.fstat(file.fileno()).st_mode)
    except (OSError, ValueError):  # no file descriptor (a test's stand-in for stdin)
        return False


def _coalesced(batches: Iterator[PacketBatch], limit: int) -> Iterator[PacketBatch]:
    """`batches` joined into batches of up to `limit` packets; those read before a
    `CaptureError` are yielded before it is raised."""
    held: list[PacketBatch] = []
    count = 0
    try:
        for batch in batches:
            if held and count + len(batch) > limit:
                yield PacketBatch.concat(held)
                held, count = [], 0
            held.append(batch)
            count += len(batch)
    except CaptureError:
        if held:
            yield PacketBatch.concat(held)
        raise
    if held:
        yield PacketBatch.concat(held)
