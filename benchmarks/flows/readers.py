"""Capture readers compared on one file: packets/s of CPU to the same packet facts.

    python -m benchmarks.flows.readers big.pcap [--rounds 3] [--scapy-packets 20000]

Each contender turns the file's frames into the columns the flow meter needs (addresses, ports,
protocol, flags, window, header and payload lengths, time); libpcap bindings that only frame
records are timed framing alone, and once more with our numpy decode behind them. Rounds are
interleaved so that load on a shared machine falls on every contender alike; the figure kept is
each contender's best round. scapy is timed on the first `--scapy-packets` packets only.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from flows.capture import read_packets
from flows.decode import ETHERNET, Frames, decode
from flows.packets import Skipped

PACKAGES = {"pcapy": "pcapy-ng", "pcap": "pypcap", "dpkt": "dpkt", "scapy": "scapy"}


def ours(path: Path) -> int:
    return sum(len(batch) for batch in read_packets(path))


def pcapy_ng_framing(path: Path) -> int:
    import pcapy

    reader = pcapy.open_offline(str(path))
    count = 0
    while True:
        _data, meta = reader.next_batch(65536)
        if not meta:
            return count
        count += len(meta) // 16


def pcapy_ng_with_our_decode(path: Path) -> int:
    import pcapy

    reader = pcapy.open_offline(str(path))
    skipped = Skipped()
    count = 0
    while True:
        data, meta = reader.next_batch(65536)
        if not meta:
            return count
        fields = np.frombuffer(meta, np.uint32).reshape(-1, 4).astype(np.int64)
        n = len(fields)
        frames = Frames(
            data=np.frombuffer(data, np.uint8),
            start=fields[:, 2],
            caplen=fields[:, 3],
            wirelen=fields[:, 3],  # next_batch does not give it: only skip reasons need it
            link_type=np.full(n, ETHERNET, np.int64),
            time_us=fields[:, 0] * 1_000_000 + fields[:, 1],
            number=np.arange(count + 1, count + 1 + n, dtype=np.int64),
        )
        count += len(decode(frames, skipped))


def pypcap_framing(path: Path) -> int:
    import pcap

    return sum(1 for _ in pcap.pcap(name=str(path)))


def pypcap_with_our_decode(path: Path) -> int:
    import pcap

    reader = iter(pcap.pcap(name=str(path)))
    skipped = Skipped()
    count = 0
    while True:
        stamps: list[float] = []
        frames: list[bytes] = []
        for stamp, frame in itertools.islice(reader, 65536):
            stamps.append(stamp)
            frames.append(frame)
        if not frames:
            return count
        caplen = np.fromiter(map(len, frames), np.int64, len(frames))
        start = np.concatenate(([0], np.cumsum(caplen)[:-1]))
        n = len(frames)
        batch = Frames(
            data=np.frombuffer(b"".join(frames), np.uint8),
            start=start,
            caplen=caplen,
            wirelen=caplen,
            link_type=np.full(n, ETHERNET, np.int64),
            time_us=(np.array(stamps) * 1_000_000).astype(np.int64),  # float seconds: rounded
            number=np.arange(count + 1, count + 1 + n, dtype=np.int64),
        )
        count += len(decode(batch, skipped))


def _dpkt_columns(records: Any) -> int:
    import dpkt

    rows: list[tuple[int, ...]] = []
    append = rows.append
    for ts, buf in records:
        eth = dpkt.ethernet.Ethernet(buf)
        ip = eth.data
        if not isinstance(ip, dpkt.ip.IP):
            continue
        seg = ip.data
        if isinstance(seg, dpkt.tcp.TCP):
            header = seg.off * 4
            append(
                (
                    int(ts * 1e6),
                    int.from_bytes(ip.src),
                    int.from_bytes(ip.dst),
                    ip.p,
                    seg.sport,
                    seg.dport,
                    seg.flags,
                    seg.win,
                    header,
                    len(seg.data),
                )
            )
        elif isinstance(seg, dpkt.udp.UDP):
            append(
                (
                    int(ts * 1e6),
                    int.from_bytes(ip.src),
                    int.from_bytes(ip.dst),
                    ip.p,
                    seg.sport,
                    seg.dport,
                    0,
                    0,
                    8,
                    len(seg.data),
                )
            )
        else:
            append(
                (
                    int(ts * 1e6),
                    int.from_bytes(ip.src),
                    int.from_bytes(ip.dst),
                    ip.p,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                )
            )
    columns = np.array(rows, np.int64)
    return len(columns)


def dpkt_reader(path: Path) -> int:
    import dpkt

    with path.open("rb") as file:
        return _dpkt_columns(dpkt.pcap.Reader(file))


def scapy_reader(path: Path, limit: int) -> int:
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.utils import PcapReader

    rows = []
    with PcapReader(str(path)) as reader:
        for i, packet in enumerate(reader):
            if i >= limit:
                break
            if IP not in packet:
                continue
            ip = packet[IP]
            seg = None
            for layer in (TCP, UDP):
                if layer in packet:
                    seg = packet[layer]
            ports = (seg.sport, seg.dport) if seg is not None else (0, 0)
            rows.append((int(packet.time * 1_000_000), ip.src, ip.dst, ip.proto, *ports))
    return len(rows)


def compare(path: Path, rounds: int = 3, scapy_packets: int = 20_000) -> dict[str, Any]:
    """Packets/s of CPU time of each contender on `path`, best of `rounds` interleaved rounds."""
    contenders: dict[str, Callable[[], int]] = {"ours (flows.capture)": lambda: ours(path)}
    optional: dict[str, tuple[str, Callable[[], int]]] = {
        "pcapy-ng next_batch, framing only": ("pcapy", lambda: pcapy_ng_framing(path)),
        "pcapy-ng next_batch + our numpy decode": ("pcapy", lambda: pcapy_ng_with_our_decode(path)),
        "pypcap, framing only": ("pcap", lambda: pypcap_framing(path)),
        "pypcap + our numpy decode": ("pcap", lambda: pypcap_with_our_decode(path)),
        "dpkt (pcap.Reader + Ethernet parse)": ("dpkt", lambda: dpkt_reader(path)),
        f"scapy PcapReader (first {scapy_packets} packets)": (
            "scapy",
            lambda: scapy_reader(path, scapy_packets),
        ),
    }
    missing = []
    for name, (module, runner) in optional.items():
        if importlib.util.find_spec(module) is None:
            missing.append(f"{name} (pip install {PACKAGES[module]})")
        else:
            contenders[name] = runner
    best: dict[str, float] = {}
    packets: dict[str, int] = {}
    for _ in range(rounds):
        for name, run in list(contenders.items()):
            start = time.process_time()
            count = run()
            seconds = time.process_time() - start
            packets[name] = count
            best[name] = min(best.get(name, float("inf")), seconds)
    figures = {
        name: {
            "packets": packets[name],
            "cpu_seconds": round(best[name], 3),
            "packets_per_second": round(packets[name] / best[name]),
        }
        for name in best
    }
    return {"file": str(path), "rounds": rounds, "readers": figures, "not_installed": missing}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pcap", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scapy-packets", type=int, default=20_000)
    args = parser.parse_args(argv)
    print(json.dumps(compare(args.pcap, args.rounds, args.scapy_packets), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
