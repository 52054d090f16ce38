"""Capture files of either format: `read_packets(path)` yields `PacketBatch`es, chunk by chunk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from flows import pcap, pcapng
from flows.chunks import CHUNK_BYTES
from flows.errors import CaptureError, NotACaptureError, TruncatedCaptureError
from flows.packets import PacketBatch, Skipped


def read_packets(
    path: str | Path, skipped: Skipped | None = None, *, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[PacketBatch]:
    """The IP packets of a pcap or pcapng file, in capture order, in batches of one chunk each.

    Frames that are not IP packets are counted by reason in `skipped` (pass one to read the counts;
    several files may share one). Bad files raise a `CaptureError` naming the file and packet,
    after every packet before the damage has been yielded.
    """
    skipped = Skipped() if skipped is None else skipped
    name = str(path)
    try:
        file = open(path, "rb")  # noqa: SIM115 (closed below, also when the caller stops early)
    except OSError as error:
        raise CaptureError(name, f"cannot open: {error.strerror or error}") from error
    with file:
        magic = file.read(4)
        file.seek(0)
        if magic in pcap.MAGICS:
            yield from pcap.read(file, name, skipped, chunk_bytes)
        elif magic == pcapng.SECTION_MAGIC:
            yield from pcapng.read(file, name, skipped, chunk_bytes)
        elif len(magic) < 4:
            raise TruncatedCaptureError(name, f"the file holds {len(magic)} bytes: no capture")
        else:
            raise NotACaptureError(
                name, f"not a pcap or pcapng file (it starts with the bytes {magic.hex(' ')})"
            )
