"""Classic pcap files (libpcap's savefile format): record framing, then `decode` per chunk.

Either byte order, microsecond or nanosecond timestamps (nanoseconds are truncated to
microseconds, as libpcap does), and the "modified" pcap of old Red Hat tcpdump (24-byte records).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import BufferedIOBase

import numpy as np

from flows.chunks import CHUNK_BYTES, Chunks
from flows.decode import Frames, at_every_offset, decode
from flows.errors import CorruptCaptureError, TruncatedCaptureError
from flows.packets import PacketBatch, Skipped

FILE_HEADER = 24
# libpcap refuses records longer than this unless the file's snap length is larger; past 64 MiB
# a length is taken as corruption whatever the header says, so one bad length cannot ask for
# gigabytes of memory.
MAX_SNAPLEN = 262144
MAX_RECORD = 64 << 20

CUT_SHORT = "the file ends inside a packet record (the capture was cut short)"


@dataclass(frozen=True, slots=True)
class Format:
    byte_order: str  # "<" or ">"
    divisor: int  # of the sub-second field, to microseconds
    record_header: int  # 16, or 24 for the modified format


# The magic number as it lies in the file, first four bytes.
MAGICS = {
    b"\xd4\xc3\xb2\xa1": Format("<", 1, 16),
    b"\xa1\xb2\xc3\xd4": Format(">", 1, 16),
    b"\x4d\x3c\xb2\xa1": Format("<", 1000, 16),
    b"\xa1\xb2\x3c\x4d": Format(">", 1000, 16),
    b"\x34\xcd\xb2\xa1": Format("<", 1, 24),
    b"\xa1\xb2\xcd\x34": Format(">", 1, 24),
}


def read(
    file: BufferedIOBase,
    path: str,
    skipped: Skipped,
    chunk_bytes: int = CHUNK_BYTES,
    *,
    prefix: bytes = b"",
    stream: bool = False,
) -> Iterator[PacketBatch]:
    """The packets of the pcap file open in `file`, a chunk at a time. `prefix`: its first bytes,
    already read (the magic number); `stream`: a pipe, read as its bytes come (`Chunks`)."""
    header = prefix + file.read(FILE_HEADER - len(prefix))
    fmt = MAGICS[header[:4]]
    if len(header) < FILE_HEADER:
        raise TruncatedCaptureError(
            path, f"the file ends inside its {FILE_HEADER}-byte pcap header ({len(header)} bytes)"
        )
    _major, _minor, _zone, _sigfigs, snaplen, link = struct.unpack(
        fmt.byte_order + "HHiIII", header[4:]
    )
    link_type = link & 0xFFFF  # the upper bits may say how long a frame check sequence is
    limit = max(min(snaplen, MAX_RECORD), MAX_SNAPLEN)
    chunks = Chunks(file, max(chunk_bytes, fmt.record_header + limit), FILE_HEADER, stream=stream)
    number = 0  # frames framed so far
    caplen_at = struct.Struct(fmt.byte_order + "I").unpack_from
    step = struct.Struct(fmt.byte_order + "8xI").unpack_from  # a record's caplen, at its start
    hsize = fmt.record_header
    while True:
        more = chunks.refill()
        if not more and chunks.used == chunks.filled:
            return
        pos, end = chunks.used, chunks.filled
        offsets = _frame(memoryview(chunks.buffer)[:end], pos, hsize, step)
        if offsets:
            last = offsets[-1]
            pos = last + hsize + caplen_at(chunks.buffer, last + 8)[0]
            if pos > end:  # the last record runs past the buffer
                offsets.pop()
                pos = last
        if not offsets:
            # The next record is not all in the buffer, which holds any record of `limit` bytes.
            if pos + hsize <= end and caplen_at(chunks.buffer, pos + 8)[0] > limit:
                raise _too_long(path, number + 1, caplen_at(chunks.buffer, pos + 8)[0], limit)
            if not more:
                skipped[CUT_SHORT] += 1
                return
            continue
        chunks.used = pos
        data = chunks.array()
        at = np.array(offsets, np.int64)
        u32 = at_every_offset(data, fmt.byte_order + "u4")
        caplen = u32[at + 8].astype(np.int64)
        too_long = caplen > limit
        bad = int(np.argmax(too_long)) if too_long.any() else len(at)
        frames = Frames(
            data=data,
            start=at[:bad] + hsize,
            caplen=caplen[:bad],
            wirelen=u32[at[:bad] + 12].astype(np.int64),
            link_type=np.full(bad, link_type, np.int64),
            time_us=u32[at[:bad]].astype(np.int64) * 1_000_000
            + u32[at[:bad] + 4].astype(np.int64) // fmt.divisor,
            number=np.arange(number + 1, number + 1 + bad, dtype=np.int64),
        )
        batch = decode(frames, skipped)
        del data, frames, u32  # the buffer cannot grow while an array looks at it
        if len(batch):
            yield batch
        if bad < len(at):
            raise _too_long(path, number + bad + 1, int(caplen[bad]), limit)
        number += len(at)


def _frame(view: memoryview, pos: int, hsize: int, step: Callable[..., tuple[int]]) -> list[int]:
    """Offsets of the records from `pos` whose 12 first bytes are in `view` (the last may run
    past it). Record boundaries are sequential: this loop is the reader's only per-packet Python,
    kept to two statements (the end of the view ends it, as struct's error)."""
    offsets: list[int] = []
    append = offsets.append
    try:
        while True:
            append(pos)
            pos += hsize + step(view, pos)[0]
    except struct.error:
        offsets.pop()  # its caplen is not in the view
    view.release()
    return offsets


def _too_long(path: str, packet: int, caplen: int, limit: int) -> CorruptCaptureError:
    return CorruptCaptureError(
        path,
        f"the record says it holds {caplen} bytes, more than the {limit} a packet of this file "
        "can have: the file is corrupt from here on",
        packet=packet,
    )
