"""Frames to packets: the link, IP and transport headers of a chunk of frames, decoded at once.

Every reader (pcap, pcapng, live) finds where its frames lie in a byte buffer and hands the offsets
here; decoding is numpy gathers over those offsets, one header field for the whole chunk at a time.
Each step keeps the rows that are still well formed, so a frame is only read where an earlier check
proved its bytes are there: nothing reads past a frame's captured end.

What becomes a row, and what a row holds, follows the reference flow meter (CICFlowMeter on
jNetPcap): payload lengths come from the IP lengths (Ethernet padding is not payload), the header
length is TCP's data offset * 4 or UDP's 8, the window is the raw field. A frame that is not IP, or
whose IP header is cut or broken, is counted in `Skipped` by reason; an IP packet whose TCP or UDP
header cannot be read (a later fragment, another protocol, a cut transport header) is still a row,
with `transport` False, as the reference makes a protocol-0 packet of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.packets import TCP, UDP, Column, PacketBatch, Skipped

# Link types (www.tcpdump.org/linktypes.html): the values in pcap and pcapng files.
NULL = 0  # BSD loopback: a 4-byte address family in the writer's byte order
ETHERNET = 1
RAW_12 = 12  # DLT_RAW on most systems, as some writers put it in files
RAW_14 = 14  # DLT_RAW on OpenBSD
RAW = 101
LOOP = 108  # OpenBSD loopback: the family in network byte order
LINUX_SLL = 113
IPV4 = 228
IPV6 = 229
LINUX_SLL2 = 276

LINK_TYPE_NAMES = {
    NULL: "BSD loopback",
    ETHERNET: "Ethernet",
    RAW_12: "raw IP",
    RAW_14: "raw IP",
    RAW: "raw IP",
    LOOP: "OpenBSD loopback",
    LINUX_SLL: "Linux cooked capture v1",
    IPV4: "raw IPv4",
    IPV6: "raw IPv6",
    LINUX_SLL2: "Linux cooked capture v2",
}

VLAN_TAGS = (0x8100, 0x88A8, 0x9100)  # 802.1Q, 802.1ad, and the pre-standard QinQ tag
MAX_VLAN_TAGS = 8
ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
ETHERTYPE_NAMES = {
    0x0806: "ARP",
    0x8035: "RARP",
    0x88CC: "LLDP",
    0x8847: "MPLS",
    0x8848: "MPLS",
    0x8863: "PPPoE discovery",
    0x8864: "PPPoE session",
    0x888E: "EAPOL",
    0x88F7: "PTP",
    0x8809: "slow protocols (LACP)",
    0x9000: "Ethernet loopback test",
    0x0842: "Wake-on-LAN",
    0x22F0: "AVTP",
    0x88E5: "MACsec",
    0x8100: "VLAN tag",
    0x0060: "Ethernet loopback",
    0x0004: "802.2 LLC",
    0x0001: "802.3",
}
INET6_FAMILIES = (10, 24, 28, 30)  # AF_INET6 on Linux, the BSDs, FreeBSD, Darwin

# IPv6 extension headers the decoder walks past to find TCP or UDP.
HOP_BY_HOP, ROUTING, FRAGMENT, AUTH, DEST_OPTIONS = 0, 43, 44, 51, 60
EXTENSION_HEADERS = (HOP_BY_HOP, ROUTING, FRAGMENT, AUTH, DEST_OPTIONS)
MAX_EXTENSION_HEADERS = 16

TRUNCATED = "truncated by the capture's snap length"

# Skip reasons as codes, so a whole chunk's reasons are one integer column. Fixed reasons are small
# numbers; the not-IP reasons carry the value that explains them above a base.
_FIXED = (
    "",
    TRUNCATED,
    "malformed Ethernet frame (shorter than its header)",
    "malformed Linux cooked capture header (shorter than its header)",
    "malformed loopback header (shorter than its header)",
    "empty raw IP packet",
    "malformed IPv4 header",
    "malformed IPv6 header",
    "malformed IPv6 extension header",
    "malformed TCP header (data offset below 5)",
    f"more than {MAX_VLAN_TAGS} stacked VLAN tags",
)
(
    _OK,
    _TRUNCATED,
    _SHORT_ETHERNET,
    _SHORT_SLL,
    _SHORT_LOOPBACK,
    _EMPTY_RAW,
    _BAD_IPV4,
    _BAD_IPV6,
    _BAD_IPV6_EXTENSION,
    _BAD_TCP,
    _TOO_MANY_TAGS,
) = range(len(_FIXED))
_ETHERTYPE = 1 << 16  # + the EtherType (or 802.3 length) of a frame that is not IP
_FAMILY = 2 << 16  # + the address family of a loopback frame that is not IP
_VERSION = 3 << 16  # + the IP version nibble of a raw frame that is neither 4 nor 6
_LINK_TYPE = 4 << 16  # + a link type this reader does not decode


@dataclass(frozen=True, slots=True)
class Frames:
    """Where a chunk's frames lie in `data`, with what their capture headers say."""

    data: Column  # uint8: the bytes the offsets point into
    start: Column  # int64: offset of each frame's first byte (its link header)
    caplen: Column  # int64: bytes captured
    wirelen: Column  # int64: bytes the frame had on the wire
    link_type: Column  # int64: per frame (files with one link type repeat it)
    time_us: Column  # int64
    number: Column  # int64: 1-based frame number in its source


def reason_text(code: int) -> str:
    """The words a user reads in a summary for a skip code."""
    if code < _ETHERTYPE:
        return _FIXED[code]
    kind, value = code >> 16 << 16, code & 0xFFFF
    if kind == _ETHERTYPE:
        if value <= 1500:
            return "not IP (802.3 frame with an LLC header)"
        name = ETHERTYPE_NAMES.get(value)
        return f"not IP ({name})" if name else f"not IP (EtherType 0x{value:04x})"
    if kind == _FAMILY:
        return f"not IP (loopback address family {value})"
    if kind == _VERSION:
        return f"not IP (raw packet of IP version {value})"
    return f"link type {value} not read"


def at_every_offset(data: Column, dtype: str) -> Column:
    """`data` seen as `dtype` numbers starting at every byte: `view[i]` is the number in bytes
    `i, i+1, ...`. One gather then reads a whole field, where byte gathers would need one each."""
    size = np.dtype(dtype).itemsize
    return np.ndarray((max(len(data) - size + 1, 0),), dtype, buffer=data, strides=(1,))


class _Chunk:
    """The working columns of one decode: rows still alive are those with `reason == _OK`."""

    def __init__(self, frames: Frames) -> None:
        self.f = frames
        self.data = frames.data
        self.be16 = at_every_offset(frames.data, ">u2")
        self.be32 = at_every_offset(frames.data, ">u4")
        self.be64 = at_every_offset(frames.data, ">u8")
        self.end = frames.start + frames.caplen
        self.snapped = frames.caplen < frames.wirelen
        n = len(frames.start)
        self.reason = np.zeros(n, np.int64)
        self.version = np.zeros(n, np.uint8)  # 4 or 6 once the link header says IP
        self.l3 = np.zeros(n, np.int64)

    def need(self, rows: Column, at: Column, size: int, malformed: int) -> Column:
        """Rows whose `size` bytes at `at` were captured; the others get a reason and drop out."""
        fits = at + size <= self.end[rows]
        if fits.all():
            return rows
        short = rows[~fits]
        self.reason[short] = np.where(self.snapped[short], _TRUNCATED, malformed)
        return rows[fits]

    def fail(self, rows: Column, bad: Column, code: Column | int) -> None:
        self.reason[rows[bad]] = code if isinstance(code, int) else code[bad]


def _ethertypes(c: _Chunk, rows: Column, et: Column, after: Column, short: int) -> None:
    """Follow VLAN tags from EtherType `et` (its payload at `after`) to IP, or to a reason."""
    for _ in range(MAX_VLAN_TAGS):
        tagged = np.isin(et, VLAN_TAGS)
        if not tagged.any():
            break
        _network(c, rows[~tagged], et[~tagged], after[~tagged])
        # A tag: 2 bytes of priority and VLAN id, then the EtherType of what it carries.
        rows, at = rows[tagged], after[tagged]
        ok = at + 4 <= c.end[rows]
        c.fail(rows, ~ok, np.where(c.snapped[rows], _TRUNCATED, short))
        rows, at = rows[ok], at[ok]
        et, after = c.be16[at + 2], at + 4
    else:
        tagged = np.isin(et, VLAN_TAGS)
        c.fail(rows, tagged, _TOO_MANY_TAGS)
        rows, et, after = rows[~tagged], et[~tagged], after[~tagged]
    _network(c, rows, et, after)


def _network(c: _Chunk, rows: Column, et: Column, after: Column) -> None:
    v4 = et == ETHERTYPE_IPV4
    v6 = et == ETHERTYPE_IPV6
    c.version[rows[v4]] = 4
    c.version[rows[v6]] = 6
    c.l3[rows] = after
    c.fail(rows, ~(v4 | v6), _ETHERTYPE + et.astype(np.int64))


def _link(c: _Chunk, rows: Column, link_type: int) -> None:
    start = c.f.start[rows]
    if link_type == ETHERNET:
        rows = c.need(rows, start, 14, _SHORT_ETHERNET)
        start = c.f.start[rows]
        _ethertypes(c, rows, c.be16[start + 12], start + 14, _SHORT_ETHERNET)
    elif link_type in (LINUX_SLL, LINUX_SLL2):
        size, field = (16, 14) if link_type == LINUX_SLL else (20, 0)
        rows = c.need(rows, start, size, _SHORT_SLL)
        start = c.f.start[rows]
        _ethertypes(c, rows, c.be16[start + field], start + size, _SHORT_SLL)
    elif link_type in (RAW, RAW_12, RAW_14, IPV4, IPV6):
        rows = c.need(rows, start, 1, _EMPTY_RAW)
        start = c.f.start[rows]
        version: Column
        if link_type == IPV4:
            version = np.full(len(rows), 4, np.uint8)
        elif link_type == IPV6:
            version = np.full(len(rows), 6, np.uint8)
        else:
            version = c.data[start] >> 4
        ip = (version == 4) | (version == 6)
        c.fail(rows, ~ip, _VERSION + version.astype(np.int64))
        c.version[rows[ip]] = version[ip]
        c.l3[rows] = start
    elif link_type in (NULL, LOOP):
        rows = c.need(rows, start, 4, _SHORT_LOOPBACK)
        start = c.f.start[rows]
        if link_type == LOOP:
            family = c.be32[start].astype(np.uint32)
        else:
            # Written in the capturing host's byte order: a family is small, so a value with
            # high bits set was written by a host of the other order.
            family = c.be32[start].astype(np.uint32).byteswap()
            family = np.where(family > 0xFFFF, family.byteswap(), family)
        v4 = family == 2
        v6 = np.isin(family, INET6_FAMILIES)
        c.version[rows[v4]] = 4
        c.version[rows[v6]] = 6
        c.l3[rows] = start + 4
        c.fail(rows, ~(v4 | v6), _FAMILY + np.minimum(family, 0xFFFF).astype(np.int64))
    else:
        c.reason[rows] = _LINK_TYPE + min(link_type, 0xFFFF)


def _empty_columns(n: int) -> dict[str, Column]:
    from flows.packets import DTYPES

    return {name: np.zeros(n, dtype) for name, dtype in DTYPES.items()}


def decode(frames: Frames, skipped: Skipped) -> PacketBatch:
    """The IP packets among `frames`, in order; every other frame is counted in `skipped`."""
    n = len(frames.start)
    if n == 0:
        return PacketBatch.empty()
    c = _Chunk(frames)
    every = np.arange(n, dtype=np.int64)
    link_types = frames.link_type
    first = int(link_types[0])
    if (link_types == first).all():
        _link(c, every, first)
    else:
        for link_type in np.unique(link_types):
            _link(c, every[link_types == link_type], int(link_type))

    # Rows that are IP packets end up with their columns filled in `out`, indexed by frame row.
    out = _empty_columns(n)
    ip_payload = np.zeros(n, np.int64)  # bytes after the last IP header, by the IP lengths
    l4 = np.zeros(n, np.int64)
    later_fragment = np.zeros(n, np.bool_)
    _ipv4(
        c, np.flatnonzero((c.version == 4) & (c.reason == _OK)), out, ip_payload, l4, later_fragment
    )
    _ipv6(
        c, np.flatnonzero((c.version == 6) & (c.reason == _OK)), out, ip_payload, l4, later_fragment
    )
    _transport(c, out, ip_payload, l4, later_fragment)
    out["number"] = frames.number
    out["time_us"] = frames.time_us

    keep = c.reason == _OK
    if not keep.all():
        codes, counts = np.unique(c.reason[~keep], return_counts=True)
        for code, count in zip(codes.tolist(), counts.tolist(), strict=True):
            skipped[reason_text(code)] += count
        return PacketBatch(**{name: column[keep] for name, column in out.items()})
    return PacketBatch(**out)


def _ipv4(
    c: _Chunk, rows: Column, out: dict[str, Column], ip_payload: Column, l4: Column, later: Column
) -> None:
    if not len(rows):
        return
    rows = c.need(rows, c.l3[rows], 20, _BAD_IPV4)
    l3 = c.l3[rows]
    first = c.data[l3]
    ihl = (first & 0x0F).astype(np.int64) * 4
    ok = (first >> 4 == 4) & (ihl >= 20)
    if not ok.all():
        c.fail(rows, ~ok, _BAD_IPV4)
        rows, l3, ihl = rows[ok], l3[ok], ihl[ok]
    fits = l3 + ihl <= c.end[rows]
    if not fits.all():
        c.fail(rows, ~fits, np.where(c.snapped[rows], _TRUNCATED, _BAD_IPV4))
        rows, l3, ihl = rows[fits], l3[fits], ihl[fits]
    out["family"][rows] = 4
    out["src_lo"][rows] = c.be32[l3 + 12]
    out["dst_lo"][rows] = c.be32[l3 + 16]
    out["protocol"][rows] = c.data[l3 + 9]
    # Below 0 for a total length inside the header: no transport then.
    ip_payload[rows] = c.be16[l3 + 2].astype(np.int64) - ihl
    l4[rows] = l3 + ihl
    later[rows] = (c.be16[l3 + 6] & 0x1FFF) != 0  # fragment offset


def _ipv6(
    c: _Chunk, rows: Column, out: dict[str, Column], ip_payload: Column, l4: Column, later: Column
) -> None:
    if not len(rows):
        return
    rows = c.need(rows, c.l3[rows], 40, _BAD_IPV6)
    l3 = c.l3[rows]
    ok = c.data[l3] >> 4 == 6
    if not ok.all():
        c.fail(rows, ~ok, _BAD_IPV6)
        rows, l3 = rows[ok], l3[ok]
    out["family"][rows] = 6
    out["src_hi"][rows] = c.be64[l3 + 8]
    out["src_lo"][rows] = c.be64[l3 + 16]
    out["dst_hi"][rows] = c.be64[l3 + 24]
    out["dst_lo"][rows] = c.be64[l3 + 32]
    next_header = c.data[l3 + 6]
    remaining = c.be16[l3 + 4].astype(np.int64)
    at = l3 + 40
    # Walk the extension headers, all rows in step; each step drops the rows that reached their
    # transport header. A header is read only where its 8 first bytes were captured.
    walking = np.isin(next_header, EXTENSION_HEADERS)
    index = np.arange(len(rows))
    for _ in range(MAX_EXTENSION_HEADERS):
        if not walking.any():
            break
        w = index[walking]
        fits = at[w] + 8 <= c.end[rows[w]]
        if not fits.all():
            cut = w[~fits]
            c.reason[rows[cut]] = np.where(c.snapped[rows[cut]], _TRUNCATED, _BAD_IPV6_EXTENSION)
            walking[cut] = False
            w = w[fits]
        kind = next_header[w]
        ext = c.data[at[w][:, None] + np.arange(4)]
        size = np.where(
            kind == FRAGMENT,
            8,
            np.where(
                kind == AUTH,
                (ext[:, 1].astype(np.int64) + 2) * 4,
                (ext[:, 1].astype(np.int64) + 1) * 8,
            ),
        )
        fragment = kind == FRAGMENT
        offset = (ext[:, 2].astype(np.int64) << 5) | (ext[:, 3].astype(np.int64) >> 3)
        later[rows[w[fragment & (offset != 0)]]] = True
        next_header[w] = ext[:, 0]
        at[w] += size
        remaining[w] -= size
        broken = remaining[w] < 0
        if broken.any():
            c.reason[rows[w[broken]]] = _BAD_IPV6_EXTENSION
            walking[w[broken]] = False
        walking[w] &= np.isin(ext[:, 0], EXTENSION_HEADERS) & ~(fragment & (offset != 0))
    else:
        if walking.any():
            c.reason[rows[walking]] = _BAD_IPV6_EXTENSION
    out["protocol"][rows] = next_header
    ip_payload[rows] = remaining
    l4[rows] = at


def _transport(
    c: _Chunk, out: dict[str, Column], ip_payload: Column, l4: Column, later: Column
) -> None:
    alive = c.reason == _OK
    protocol = out["protocol"]
    for proto, size in ((TCP, 20), (UDP, 8)):
        rows = np.flatnonzero(alive & (protocol == proto) & ~later)
        if not len(rows):
            continue
        at = l4[rows]
        # What the reference reads as the transport segment: up to the IP length's end or the
        # capture's, whichever comes first. A header that does not fit leaves an IP packet
        # without ports (the reference counts it under protocol 0); a TCP header longer than the
        # segment counts as long as the segment (options cut by the snap length).
        region = np.minimum(ip_payload[rows], c.end[rows] - at)
        fits = region >= size
        rows, at, region = rows[fits], at[fits], region[fits]
        if proto == TCP:
            declared = (c.data[at + 12] >> 4).astype(np.int64) * 4
            bad = declared < 20  # the reference drops such a packet altogether
            if bad.any():
                c.reason[rows[bad]] = _BAD_TCP
                rows, at, region, declared = rows[~bad], at[~bad], region[~bad], declared[~bad]
            header = np.minimum(declared, region)
            out["tcp_flags"][rows] = c.data[at + 13]
            out["window"][rows] = c.be16[at + 14]
        else:
            header = np.full(len(rows), 8, np.int64)
        out["transport"][rows] = True
        out["src_port"][rows] = c.be16[at]
        out["dst_port"][rows] = c.be16[at + 2]
        out["header_len"][rows] = header
        out["payload_len"][rows] = region - header
