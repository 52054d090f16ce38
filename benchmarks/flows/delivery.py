"""Live delivery: how long after its capture time a packet can still be on its way to the reader.

    python -m benchmarks.flows.delivery [--seconds 4] [--rounds 2] [--out FILE.json]

A live flow meter may end a flow by the clock only once no packet that could still join it is on
its way: `flows.live.DELIVERY_MARGIN_US` is that wait. This measures what it must cover. In
network namespaces of its own, a capture process runs `LiveCapture` (margin 0) on `lo` and on one
end of a veth pair, and notes for every read when it began; a packet yielded by a read that was
not yet in the read before it was late by (that earlier read's start - its capture time), when
positive. Also: how far capture order departs from timestamp order (a packet stamped earlier than
one yielded before it). Traffic: sparse UDP (one packet every 1-60 ms: ring blocks hand over on
their timeout), short TCP connections, paced UDP at 20,000 packets/s (blocks fill), each alone
and beside busy-loop processes (`--busy-per-core`, default 2: a loaded machine). Needs root.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np

LO_ADDRESS = "127.0.0.2"
VETH_CAPTURE, VETH_PEER = "10.201.0.1", "10.201.0.2"
# Each runs as `python -c PROGRAM DEST SECONDS` in the namespace that sends.
TRAFFIC = {
    "sparse UDP": r"""
import random, socket, sys, time
dest, seconds = sys.argv[1], float(sys.argv[2])
out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.monotonic() + seconds
while time.monotonic() < end:
    out.sendto(b"x" * 32, (dest, 9999)); time.sleep(random.uniform(0.001, 0.06))
""",
    "TCP connections": r"""
import socket, sys, time
dest, seconds = sys.argv[1], float(sys.argv[2])
end = time.monotonic() + seconds
while time.monotonic() < end:
    try:
        conn = socket.create_connection((dest, 22222), timeout=1)
        conn.sendall(b"y" * 600); conn.shutdown(socket.SHUT_WR); conn.recv(65536); conn.close()
    except OSError:
        pass
    time.sleep(0.005)
""",
    "UDP at 20,000/s": r"""
import socket, sys, time
dest, seconds = sys.argv[1], float(sys.argv[2])
rate, out, sent = 20000, socket.socket(socket.AF_INET, socket.SOCK_DGRAM), 0
start = time.perf_counter()
while time.perf_counter() - start < seconds:
    due = int((time.perf_counter() - start) * rate)
    while sent < due:
        out.sendto(b"z" * 64, (dest, 9998)); sent += 1
    time.sleep(0.0005)
""",
}
# A TCP server answering each connection with what it got (the "TCP connections" traffic).
SERVER = r"""
import socket, sys
server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], 22222)); server.listen(64)
while True:
    conn, _ = server.accept(); data = conn.recv(65536); conn.sendall(data); conn.close()
"""
BUSY = "while True: pass"
BUSY_PER_CORE = 2


def capture(interface: str, out: Path) -> int:
    """The capture process: every read's start and the capture times it yielded, until SIGTERM."""
    from flows.live import LiveCapture

    with LiveCapture(interface, "tcp or udp", delivery_margin_us=0) as live:

        def stop(signum: int, frame: FrameType | None) -> None:
            live.stop()

        signal.signal(signal.SIGTERM, stop)
        print("ready", flush=True)
        reads: list[int] = []
        stamps: list[np.ndarray[Any, Any]] = []
        read_of: list[np.ndarray[Any, Any]] = []
        for batch in live:
            if not reads or reads[-1] != live.read_at_us:
                reads.append(live.read_at_us)
            stamps.append(batch.time_us)
            read_of.append(np.full(len(batch), len(reads) - 1, np.int64))
        dropped = live.stats().dropped
    np.savez(
        out,
        reads=np.array(reads, np.int64),
        stamps=np.concatenate(stamps) if stamps else np.empty(0, np.int64),
        read_of=np.concatenate(read_of) if read_of else np.empty(0, np.int64),
        dropped=np.array([dropped]),
    )
    return 0


def figures(saved: Path) -> dict[str, Any]:
    """Lateness and reordering from what a capture process saved."""
    data = np.load(saved)
    reads, stamps, read_of = data["reads"], data["stamps"], data["read_of"]
    if len(stamps) == 0:
        return {"packets": 0}
    # The first read has no read before it: its packets cannot have been missed.
    previous = reads[np.maximum(read_of - 1, 0)]
    late = np.where(read_of > 0, np.maximum(previous - stamps, 0), 0)
    earlier = np.maximum.accumulate(stamps) - stamps
    return {
        "packets": len(stamps),
        "reads": len(reads),
        "dropped": int(data["dropped"][0]),
        "late_packets": int(np.count_nonzero(late)),
        "late_ms_p99": round(float(np.percentile(late, 99)) / 1000, 1),
        "late_ms_max": round(float(late.max()) / 1000, 1),
        "reordered_packets": int(np.count_nonzero(earlier)),
        "reordered_ms_max": round(float(earlier.max()) / 1000, 3),
    }


def _spawn(prefix: list[str], *arguments: str, **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen([*prefix, *arguments], text=True, **kwargs)


def _one(
    capture_in: list[str],
    interface: str,
    send_in: list[str],
    dest: str,
    traffic: str,
    seconds: float,
    busy_per_core: int,
    work: Path,
) -> dict[str, Any]:
    out = work / "delivery.npz"
    child = _spawn(
        capture_in,
        sys.executable,
        "-m",
        "benchmarks.flows.delivery",
        "--capture",
        interface,
        str(out),
        stdout=subprocess.PIPE,
    )
    busy = []
    try:
        assert child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the capture on {interface} did not start")
        busy = [
            subprocess.Popen([sys.executable, "-c", BUSY])
            for _ in range(busy_per_core * (os.cpu_count() or 1))
        ]
        _spawn(send_in, sys.executable, "-c", TRAFFIC[traffic], dest, str(seconds)).wait()
        time.sleep(0.5)
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)
    finally:
        for process in busy:
            process.kill()
            process.wait()
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()
    return {"interface": interface, "traffic": traffic, "busy_per_core": busy_per_core} | figures(
        out
    )


def measure(seconds: float, rounds: int, busy_per_core: int) -> dict[str, Any]:
    if os.geteuid() != 0:
        raise SystemExit("the delivery measurement needs root (namespaces, packet capture)")
    tag = os.getpid()
    a, b = f"ids-delivery-a-{tag}", f"ids-delivery-b-{tag}"
    in_a, in_b = ["ip", "netns", "exec", a], ["ip", "netns", "exec", b]
    results = []
    servers: list[subprocess.Popen[str]] = []
    subprocess.run(["ip", "netns", "add", a], check=True)
    subprocess.run(["ip", "netns", "add", b], check=True)
    try:
        subprocess.run([*in_a, "ip", "link", "set", "lo", "mtu", "1500", "up"], check=True)
        subprocess.run(
            [*in_a, "ethtool", "-K", "lo", "tso", "off", "gso", "off", "gro", "off"],
            capture_output=True,
            check=False,
        )
        subprocess.run(
            ["ip", "link", "add", "dlv0", "netns", a, "type", "veth", "peer", "dlv1", "netns", b],
            check=True,
        )
        for prefix, name, address in ((in_a, "dlv0", VETH_CAPTURE), (in_b, "dlv1", VETH_PEER)):
            subprocess.run([*prefix, "ip", "addr", "add", f"{address}/24", "dev", name], check=True)
            subprocess.run([*prefix, "ip", "link", "set", name, "up"], check=True)
        for address in (LO_ADDRESS, VETH_CAPTURE):
            servers.append(_spawn(in_a, sys.executable, "-c", SERVER, address))
        time.sleep(0.5)
        with tempfile.TemporaryDirectory() as work:
            for _ in range(rounds):
                for traffic in TRAFFIC:
                    for busy in (0, busy_per_core):
                        for interface, send_in, dest in (
                            ("lo", in_a, LO_ADDRESS),
                            ("dlv0", in_b, VETH_CAPTURE),
                        ):
                            result = _one(
                                in_a, interface, send_in, dest, traffic, seconds, busy, Path(work)
                            )
                            print(json.dumps(result), file=sys.stderr)
                            results.append(result)
    finally:
        for server in servers:
            server.kill()
            server.wait()
        for name in (a, b):
            pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
            for pid in pids.stdout.split():
                subprocess.run(["kill", "-9", pid], check=False)
            subprocess.run(["ip", "netns", "del", name], check=False)
    return {
        "seconds_per_case": seconds,
        "rounds": rounds,
        "busy_per_core": busy_per_core,
        "cases": results,
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        "| interface | traffic | machine | packets | late packets | late p99 | late max "
        "| reordered max |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for case in result["cases"]:
        lines.append(
            f"| {'veth' if case['interface'] != 'lo' else 'lo'} | {case['traffic']} | "
            f"{_load(case['busy_per_core'])} | {case['packets']:,} | "
            f"{case.get('late_packets', 0):,} | {case.get('late_ms_p99', 0)} ms | "
            f"{case.get('late_ms_max', 0)} ms | {case.get('reordered_ms_max', 0)} ms |"
        )
    return "\n".join(lines)


def _load(busy_per_core: int) -> str:
    return f"+ {busy_per_core} busy loops a core" if busy_per_core else "as it is"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.flows.delivery", description=__doc__
    )
    parser.add_argument("--seconds", type=float, default=4.0, help="traffic per case")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--busy-per-core", type=int, default=BUSY_PER_CORE, help="busy loops of the loaded cases"
    )
    parser.add_argument(
        "--out", type=Path, metavar="FILE.json", help="also write the figures, and FILE.md"
    )
    parser.add_argument("--capture", nargs=2, metavar=("IF", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.capture:
        return capture(args.capture[0], Path(args.capture[1]))
    result = measure(args.seconds, args.rounds, args.busy_per_core)
    text = table(result)
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        command = "python -m benchmarks.flows.delivery " + " ".join(argv or sys.argv[1:])
        args.out.with_suffix(".md").write_text(
            f"# Live delivery: how late a packet reaches the reader\n\n`{command.strip()}`, "
            f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores. Late: stamped before a read "
            "began that did not yet hand it over (by how much); reordered: stamped before a "
            f"packet handed over ahead of it.\n\n{text}\n"
        )
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
