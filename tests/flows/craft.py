"""Packets and capture files built byte by byte, for tests that know every field's value."""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ETHERNET, RAW, LINUX_SLL, LINUX_SLL2, NULL, LOOP, IPV4, IPV6 = 1, 101, 113, 276, 0, 108, 228, 229


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(int(word) for word in struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def tcp(
    sport: int,
    dport: int,
    flags: int = 0x18,
    window: int = 512,
    payload: bytes = b"",
    options: bytes = b"",
    seq: int = 1,
    ack: int = 1,
) -> bytes:
    assert len(options) % 4 == 0
    offset = (20 + len(options)) // 4
    header = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, offset << 4, flags, window, 0, 0)
    return header + options + payload


def udp(sport: int, dport: int, payload: bytes = b"") -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def ipv4(
    payload: bytes,
    protocol: int,
    src: str = "10.0.0.1",
    dst: str = "10.0.0.2",
    *,
    fragment_offset: int = 0,
    more_fragments: bool = False,
    options: bytes = b"",
    total_length: int | None = None,
    ident: int = 1,
) -> bytes:
    assert len(options) % 4 == 0
    ihl = 5 + len(options) // 4
    total = 4 * ihl + len(payload) if total_length is None else total_length
    flags_fragment = (0x2000 if more_fragments else 0) | (fragment_offset // 8)
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x40 | ihl,
        0,
        total,
        ident,
        flags_fragment,
        64,
        protocol,
        0,
        ipaddress.IPv4Address(src).packed,
        ipaddress.IPv4Address(dst).packed,
    )
    header += options
    checksum = _checksum(header)
    return header[:10] + struct.pack("!H", checksum) + header[12:] + payload


def ipv6(
    payload: bytes,
    next_header: int,
    src: str = "2001:db8::1",
    dst: str = "2001:db8::2",
    extensions: Sequence[tuple[int, bytes]] = (),
) -> bytes:
    """`extensions`: (type, body) in order; each body is padded to its header's unit."""
    chain = b""
    types = [kind for kind, _ in extensions] + [next_header]
    for (kind, body), following in zip(extensions, types[1:], strict=True):
        if kind == 44:  # fragment: fixed 8 bytes, body = offset/flags (2) + id (4)
            chain += struct.pack("!BB", following, 0) + body
        elif kind == 51:  # AH: length in 4-byte units minus 2
            chain += struct.pack("!BB", following, (len(body) + 2) // 4 - 2) + body
        else:
            chain += struct.pack("!BB", following, (len(body) + 2) // 8 - 1) + body
    first = extensions[0][0] if extensions else next_header
    header = struct.pack(
        "!IHBB16s16s",
        6 << 28,
        len(chain) + len(payload),
        first,
        64,
        ipaddress.IPv6Address(src).packed,
        ipaddress.IPv6Address(dst).packed,
    )
    return header + chain + payload


def ethernet(
    packet: bytes, ethertype: int = 0x0800, vlans: Sequence[tuple[int, int]] = (), pad: bool = True
) -> bytes:
    """`vlans`: (tag protocol, VLAN id), outermost first. Padded to the 60-byte minimum frame."""
    frame = bytes.fromhex("020000000002") + bytes.fromhex("020000000001")
    for tpid, vid in vlans:
        frame += struct.pack("!HH", tpid, vid)
    frame += struct.pack("!H", ethertype) + packet
    if pad and len(frame) < 60:
        frame += bytes(60 - len(frame))
    return frame


@dataclass(frozen=True)
class Record:
    time_us: int
    data: bytes
    wirelen: int | None = None  # None: the frame was captured whole
    interface: int = 0


def pcap(
    records: Iterable[Record],
    link_type: int = ETHERNET,
    *,
    byte_order: str = "<",
    nanoseconds: bool = False,
    snaplen: int = 262144,
) -> bytes:
    magic = 0xA1B23C4D if nanoseconds else 0xA1B2C3D4
    out = [struct.pack(byte_order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, link_type)]
    for r in records:
        seconds, micros = divmod(r.time_us, 1_000_000)
        fraction = micros * 1000 if nanoseconds else micros
        wire = len(r.data) if r.wirelen is None else r.wirelen
        out.append(struct.pack(byte_order + "IIII", seconds, fraction, len(r.data), wire) + r.data)
    return b"".join(out)


def _option(code: int, value: bytes, byte_order: str) -> bytes:
    padded = value + bytes(-len(value) % 4)
    return struct.pack(byte_order + "HH", code, len(value)) + padded


def _block(kind: int, body: bytes, byte_order: str) -> bytes:
    body += bytes(-len(body) % 4)
    length = 12 + len(body)
    return (
        struct.pack(byte_order + "II", kind, length) + body + struct.pack(byte_order + "I", length)
    )


@dataclass(frozen=True)
class Interface:
    link_type: int = ETHERNET
    snaplen: int = 262144
    tsresol: int | None = None  # the if_tsresol byte; None: no option (microseconds)


def pcapng(
    records: Iterable[Record],
    interfaces: Sequence[Interface] = (Interface(),),
    *,
    byte_order: str = "<",
    block: str = "enhanced",
    extra_blocks: Sequence[bytes] = (),
) -> bytes:
    """One section; `block`: enhanced, simple or obsolete packet blocks."""
    out = [section_header(byte_order)]
    out += [interface_block(i, byte_order) for i in interfaces]
    out += extra_blocks
    for r in records:
        out.append(packet_block(r, interfaces[r.interface], byte_order, block))
    return b"".join(out)


def section_header(byte_order: str = "<") -> bytes:
    return _block(0x0A0D0D0A, struct.pack(byte_order + "IHHq", 0x1A2B3C4D, 1, 0, -1), byte_order)


def interface_block(interface: Interface, byte_order: str = "<") -> bytes:
    body = struct.pack(byte_order + "HHI", interface.link_type, 0, interface.snaplen)
    if interface.tsresol is not None:
        body += _option(9, bytes([interface.tsresol]), byte_order) + _option(0, b"", byte_order)
    return _block(1, body, byte_order)


def ticks(time_us: int, tsresol: int | None) -> int:
    """A time in microseconds in an interface's units (exact for the resolutions tests use)."""
    if tsresol is None:
        return time_us
    if tsresol & 0x80:
        return (time_us << (tsresol & 0x7F)) // 1_000_000
    return int(time_us * 10 ** (tsresol - 6) if tsresol >= 6 else time_us // 10 ** (6 - tsresol))


def packet_block(record: Record, interface: Interface, byte_order: str, block: str) -> bytes:
    wire = len(record.data) if record.wirelen is None else record.wirelen
    if block == "simple":
        return _block(3, struct.pack(byte_order + "I", wire) + record.data, byte_order)
    t = ticks(record.time_us, interface.tsresol)
    high, low = t >> 32, t & 0xFFFFFFFF
    if block == "obsolete":
        head = struct.pack(
            byte_order + "HHIIII", record.interface, 0, high, low, len(record.data), wire
        )
        return _block(2, head + record.data, byte_order)
    head = struct.pack(byte_order + "IIIII", record.interface, high, low, len(record.data), wire)
    return _block(6, head + record.data, byte_order)


def custom_block(byte_order: str = "<") -> bytes:
    """A block no reader knows (a custom block with a private enterprise number)."""
    return _block(0x00000BAD, struct.pack(byte_order + "I", 32473) + b"private data", byte_order)


def relink(frame: bytes, link_type: int, byte_order: str = "<") -> bytes:
    """An untagged Ethernet frame's packet as another link type would have captured it."""
    ethertype = struct.unpack("!H", frame[12:14])[0]
    packet = frame[14:]
    version = packet[0] >> 4
    if link_type in (RAW, 12, 14, IPV4, IPV6):
        return packet
    if link_type == LINUX_SLL:
        return struct.pack("!HHH8sH", 0, 1, 6, frame[6:12] + b"\0\0", ethertype) + packet
    if link_type == LINUX_SLL2:
        return struct.pack("!HHIHBB8s", ethertype, 0, 1, 1, 0, 6, frame[6:12] + b"\0\0") + packet
    family = 2 if version == 4 else 30
    if link_type == NULL:
        return struct.pack(byte_order + "I", family) + packet
    if link_type == LOOP:
        return struct.pack("!I", 2 if version == 4 else 24) + packet
    raise ValueError(f"no conversion to link type {link_type}")


def frames_of(data: bytes) -> list[tuple[int, bytes]]:
    """(time in microseconds, frame) of each record of a little-endian microsecond pcap."""
    assert data[:4] == b"\xd4\xc3\xb2\xa1", "a little-endian microsecond pcap"
    out, pos = [], 24
    while pos + 16 <= len(data):
        seconds, micros, caplen, _wire = struct.unpack_from("<IIII", data, pos)
        out.append((seconds * 1_000_000 + micros, data[pos + 16 : pos + 16 + caplen]))
        pos += 16 + caplen
    return out
