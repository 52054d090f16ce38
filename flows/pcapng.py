"""pcapng files: block framing, then `decode` per chunk.

Sections in either byte order (each section says its own), several interfaces per section with
their own link type and timestamp resolution (`if_tsresol`, `if_tsoffset`), enhanced, simple and
obsolete packet blocks. Every other block (name resolution, statistics, custom, unknown) is stepped
over. A simple packet block has no timestamp: it takes the time of the packet before it.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from io import BufferedIOBase

import numpy as np

from flows.chunks import CHUNK_BYTES, Chunks
from flows.decode import Frames, at_every_offset, decode
from flows.errors import CorruptCaptureError
from flows.packets import Column, PacketBatch, Skipped

SECTION_MAGIC = b"\x0a\x0d\x0d\x0a"
SECTION = 0x0A0D0D0A
INTERFACE = 1
OBSOLETE_PACKET = 2
SIMPLE_PACKET = 3
ENHANCED_PACKET = 6
PACKET_BLOCKS = (OBSOLETE_PACKET, SIMPLE_PACKET, ENHANCED_PACKET)
MAX_BLOCK = 16 << 20  # libpcap's largest block; past it a length is corruption

CUT_SHORT = "the file ends inside a block (the capture was cut short)"
SHORT_BLOCK = "malformed packet block (shorter than its fields)"
PAST_BLOCK = "malformed packet block (its packet runs past the block's end)"
NO_INTERFACE = "packet of an interface its section does not describe"
BAD_INTERFACE = -1
MALFORMED_INTERFACE = "packet of an interface whose description block is malformed"

OPTION_END, IF_TSRESOL, IF_TSOFFSET = 0, 9, 14


@dataclass
class Interface:
    link_type: int
    snaplen: int
    tsresol: int = 6  # the if_tsresol byte: 10^-n seconds, or 2^-(n & 0x7f) with the top bit
    tsoffset: int = 0  # seconds added to every timestamp


@dataclass
class Section:
    byte_order: str
    interfaces: list[Interface] = field(default_factory=list)


def read(
    file: BufferedIOBase,
    path: str,
    skipped: Skipped,
    chunk_bytes: int = CHUNK_BYTES,
    *,
    prefix: bytes = b"",
    stream: bool = False,
) -> Iterator[PacketBatch]:
    """The packets of the pcapng file open in `file`, chunk by chunk. `prefix`: its first bytes,
    already read (the magic number); `stream`: a pipe, read as its bytes come (`Chunks`)."""
    chunks = Chunks(file, chunk_bytes, prefix=prefix, stream=stream)
    section: Section | None = None
    order = "<"  # of the current section
    number = 0  # packet blocks framed so far
    last_time = 0  # for simple packet blocks, which carry none
    need = 0  # bytes the next block needs in the buffer, when it did not fit
    while True:
        more = chunks.refill(need)
        if not more and chunks.used == chunks.filled:
            return
        buffer, pos, end = chunks.buffer, chunks.used, chunks.filled
        packets: list[int] = []
        need = 0
        view = memoryview(buffer)[:end]
        step = struct.Struct(order + "II").unpack_from
        while pos + 12 <= end:
            kind, length = struct.unpack_from(order + "II", buffer, pos)
            if kind == SECTION or section is None:  # its magic reads the same in either order
                if packets:
                    break  # decode the packets of the section before first
                if pos + 28 > end:
                    need = 28
                    break
                new, length = _section(buffer, pos, path, number, (chunks.file_offset + pos))
                if pos + length > end:
                    need = length
                    break
                section, order = new, new.byte_order
                step = struct.Struct(order + "II").unpack_from
                pos += length
                continue
            if length < 12 or length % 4 or length > MAX_BLOCK:
                raise CorruptCaptureError(
                    path,
                    f"the block at byte {(chunks.file_offset + pos)} (type {kind:#x}) says it is "
                    f"{length} bytes long, where a multiple of 4 from 12 to {MAX_BLOCK} is "
                    "needed: the file is corrupt from here on",
                    packet=number + len(packets) + 1,
                )
            if pos + length > end:
                need = length
                break
            if kind == ENHANCED_PACKET:
                packets.append(pos)
                pos = _run(view, pos + length, step, packets)
                continue
            if kind in PACKET_BLOCKS:
                packets.append(pos)
            elif kind == INTERFACE:
                section.interfaces.append(_interface(buffer, pos, length, order))
            pos += length
        view.release()
        if packets:
            assert section is not None
            data = chunks.array()
            pos = _checked(data, packets, order, pos, end)
            chunks.used = pos
            if not packets:  # the run's first block is bad: the loop above says how
                del data
                continue
            batch, last_time = _packets(data, packets, section, number, last_time, skipped)
            del data  # the buffer cannot grow while an array looks at it
            number += len(packets)
            if len(batch):
                yield batch
        elif pos > chunks.used:
            chunks.used = pos  # blocks that hold no packets
        elif not more:
            skipped[CUT_SHORT] += 1  # a block the file ends inside
            return


def _run(
    view: memoryview, pos: int, step: Callable[..., tuple[int, int]], packets: list[int]
) -> int:
    """Frame a run of enhanced packet blocks, the common case, with nothing but a step per
    block: the only per-packet Python. The view's end ends it (as struct's error), and so does
    any other block; `_checked` then vets what the run took on trust."""
    append = packets.append
    try:
        while True:
            kind, length = step(view, pos)
            if kind != ENHANCED_PACKET or length < 32:
                return pos
            append(pos)
            pos += length
    except struct.error:
        return pos


def _checked(data: Column, packets: list[int], order: str, pos: int, end: int) -> int:
    """Drop the packets from the first whose length is no block's or runs past `end`; the
    frame loop meets that block again and says what is wrong. Returns where framing resumes."""
    at = np.array(packets, np.int64)
    length = at_every_offset(data, order + "u4")[at + 4].astype(np.int64)
    bad = (length % 4 != 0) | (length > MAX_BLOCK) | (at + length > end)
    if not bad.any():
        return pos
    first = int(np.argmax(bad))
    del packets[first:]
    return int(at[first])


def _section(
    buffer: bytearray, pos: int, path: str, number: int, offset: int
) -> tuple[Section, int]:
    magic = bytes(buffer[pos + 8 : pos + 12])
    if magic == b"\x4d\x3c\x2b\x1a":
        order = "<"
    elif magic == b"\x1a\x2b\x3c\x4d":
        order = ">"
    else:
        raise CorruptCaptureError(
            path,
            f"section header at byte {offset} has no byte-order magic "
            f"(found {magic.hex(' ')}): not a pcapng file, or corrupt",
            packet=number + 1,
        )
    length, _magic, major, minor = struct.unpack_from(order + "IIHH", buffer, pos + 4)
    if length < 28 or length % 4 or length > MAX_BLOCK:
        raise CorruptCaptureError(
            path,
            f"section header at byte {offset} says it is {length} bytes long: "
            "the file is corrupt from here on",
            packet=number + 1,
        )
    if major != 1:
        raise CorruptCaptureError(
            path, f"pcapng version {major}.{minor}: only version 1 is defined", packet=number + 1
        )
    return Section(order), length


def _interface(buffer: bytearray, pos: int, length: int, order: str) -> Interface:
    if length < 20:
        return Interface(link_type=BAD_INTERFACE, snaplen=0)  # its packets are counted as skipped
    link_type, _reserved, snaplen = struct.unpack_from(order + "HHI", buffer, pos + 8)
    interface = Interface(link_type, snaplen)
    at, stop = pos + 16, pos + length - 4
    while at + 4 <= stop:
        code, size = struct.unpack_from(order + "HH", buffer, at)
        value = at + 4
        if code == OPTION_END or value + size > stop:
            break
        if code == IF_TSRESOL and size >= 1:
            interface.tsresol = buffer[value]
        elif code == IF_TSOFFSET and size >= 8:
            interface.tsoffset = struct.unpack_from(order + "q", buffer, value)[0]
        at = value + size + (-size % 4)
    return interface


def _u32(u32: Column, at: Column, count: int = 1) -> Column:
    """`count` consecutive 32-bit fields from each offset, one column each."""
    return np.stack([u32[at + 4 * i].astype(np.int64) for i in range(count)], axis=1)


def to_micros(ticks: Column, tsresol: int, tsoffset: int) -> Column:
    """Timestamps in an interface's units to microseconds since the epoch (truncated)."""
    ticks = ticks.astype(np.uint64)
    exponent = tsresol & 0x7F
    if tsresol & 0x80:
        if exponent <= 44:  # (ticks mod 2^e) * 10^6 fits in 64 bits
            whole = (ticks >> np.uint64(exponent)) * np.uint64(1_000_000)
            mask = np.uint64((1 << exponent) - 1)
            part = ((ticks & mask) * np.uint64(1_000_000)) >> np.uint64(exponent)
            micros = (whole + part).astype(np.int64)
        else:
            micros = np.array([(int(t) * 1_000_000) >> exponent for t in ticks], np.int64)
    elif exponent >= 6:
        micros = (ticks // np.uint64(10 ** min(exponent - 6, 19))).astype(np.int64)
    else:
        micros = (ticks * np.uint64(10 ** (6 - exponent))).astype(np.int64)
    return micros + tsoffset * 1_000_000


def _packets(
    data: Column,
    blocks: list[int],
    section: Section,
    number: int,
    last_time: int,
    skipped: Skipped,
) -> tuple[PacketBatch, int]:
    order = section.byte_order
    at = np.array(blocks, np.int64)
    n = len(at)
    u32 = at_every_offset(data, order + "u4")
    kind, length = _u32(u32, at, 2).T
    interface = np.zeros(n, np.int64)
    ticks = np.zeros(n, np.uint64)
    caplen = np.zeros(n, np.int64)
    wirelen = np.zeros(n, np.int64)
    start = at + 28
    room = length - 32  # bytes of the block that can hold packet data
    reason = np.full(n, "", object)

    enhanced = np.flatnonzero((kind == ENHANCED_PACKET) & (length >= 32))
    if len(enhanced):
        fields = _u32(u32, at[enhanced] + 8, 5)
        interface[enhanced] = fields[:, 0]
        ticks[enhanced] = (fields[:, 1].astype(np.uint64) << np.uint64(32)) | fields[:, 2].astype(
            np.uint64
        )
        caplen[enhanced], wirelen[enhanced] = fields[:, 3], fields[:, 4]
    obsolete = np.flatnonzero((kind == OBSOLETE_PACKET) & (length >= 32))
    if len(obsolete):
        interface[obsolete] = at_every_offset(data, order + "u2")[at[obsolete] + 8]
        fields = _u32(u32, at[obsolete] + 12, 4)
        ticks[obsolete] = (fields[:, 0].astype(np.uint64) << np.uint64(32)) | fields[:, 1].astype(
            np.uint64
        )
        caplen[obsolete], wirelen[obsolete] = fields[:, 2], fields[:, 3]
    simple = np.flatnonzero((kind == SIMPLE_PACKET) & (length >= 16))
    if len(simple):
        wirelen[simple] = _u32(u32, at[simple] + 8)[:, 0]
        start[simple] = at[simple] + 12
        room[simple] = length[simple] - 16
        snap = section.interfaces[0].snaplen if section.interfaces else 0
        caplen[simple] = np.minimum(wirelen[simple], room[simple])
        if snap:
            caplen[simple] = np.minimum(caplen[simple], snap)

    short = length < np.where(kind == SIMPLE_PACKET, 16, 32)
    reason[short] = SHORT_BLOCK
    past = ~short & (caplen > room)
    reason[past] = PAST_BLOCK
    unknown = ~short & ~past & (interface >= len(section.interfaces))
    reason[unknown] = NO_INTERFACE
    known = np.flatnonzero(~short & ~past & ~unknown)
    bad = [i for i, d in enumerate(section.interfaces) if d.link_type == BAD_INTERFACE]
    malformed = np.zeros(n, np.bool_)
    if bad:
        malformed[known] = np.isin(interface[known], bad)
        reason[malformed] = MALFORMED_INTERFACE
    valid = ~(short | past | unknown | malformed)
    if not valid.all():
        for text, count in zip(*np.unique(reason[~valid], return_counts=True), strict=True):
            skipped[str(text)] += int(count)

    # Per interface: its link type, and its ticks in microseconds.
    link_type = np.full(n, -1, np.int64)
    time_us = np.zeros(n, np.int64)
    timed = valid & (kind != SIMPLE_PACKET)
    for index in np.unique(interface[valid]).tolist():
        described = section.interfaces[index]
        mine = valid & (interface == index)
        link_type[mine] = described.link_type
        rows = np.flatnonzero(mine & timed)
        time_us[rows] = to_micros(ticks[rows], described.tsresol, described.tsoffset)
    # A simple packet block takes the time of the timed packet before it (in this chunk or one
    # before): carry the index of the last timed row forward.
    if (valid & ~timed).any():
        index = np.where(timed, np.arange(n), -1)
        index = np.maximum.accumulate(index)
        time_us = np.where(timed, time_us, np.where(index >= 0, time_us[index], last_time))
    if timed.any():
        last_time = int(time_us[np.flatnonzero(timed)[-1]])

    keep = np.flatnonzero(valid)
    frames = Frames(
        data=data,
        start=start[keep],
        caplen=caplen[keep],
        wirelen=wirelen[keep],
        link_type=link_type[keep],
        time_us=time_us[keep],
        number=np.arange(number + 1, number + 1 + n, dtype=np.int64)[keep],
    )
    return decode(frames, skipped), last_time
