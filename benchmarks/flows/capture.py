"""The benchmark's captures: a recorded bulk transfer, and the same traffic twice over."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

from benchmarks.flows.settings import TRAFFIC

PCAP_MAGICS = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">"}


def record_bulk(path: Path, requests: int) -> Path:
    """`REQUESTS=... traffic bulk PATH` (root: a network namespace and tcpdump), unless cached."""
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial.pcap")
    subprocess.run(
        [str(TRAFFIC), "bulk", str(partial)],
        env={**os.environ, "REQUESTS": str(requests)},
        check=True,
    )
    partial.rename(path)
    return path


def _records(path: Path) -> tuple[bytes, str, Iterator[tuple[bytes, bytes]]]:
    """A classic pcap's file header, byte order, and its records (header, data), streamed."""
    file = path.open("rb")
    head = file.read(24)
    order = PCAP_MAGICS.get(head[:4])
    if order is None:
        file.close()
        raise ValueError(f"{path}: not a classic microsecond pcap file")
    caplen = struct.Struct(order + "I")

    def records() -> Iterator[tuple[bytes, bytes]]:
        with file:
            while len(header := file.read(16)) == 16:
                yield header, file.read(caplen.unpack_from(header, 8)[0])

    return head, order, records()


def doubled(source: Path, path: Path, shift_s: int = 3600) -> Path:
    """`source`'s packets, then the same packets `shift_s` seconds later: twice the traffic, in
    flows of the same kind (a classic pcap with microsecond times)."""
    if path.is_file() and path.stat().st_mtime >= source.stat().st_mtime:
        return path
    partial = path.with_name(path.name + ".partial.pcap")
    with partial.open("wb") as out:
        with source.open("rb") as original:
            shutil.copyfileobj(original, out, 1 << 24)
        _, order, records = _records(source)
        stamp = struct.Struct(order + "I")
        for header, data in records:
            seconds = stamp.unpack_from(header)[0] + shift_s
            out.write(stamp.pack(seconds) + header[4:] + data)
    partial.rename(path)
    return path


def count_packets(path: Path) -> int:
    """Records in a classic pcap file."""
    _, _, records = _records(path)
    return sum(1 for _ in records)
