"""Live capture: the packet rate `flows.live` sustains on a loopback with no kernel drops.

    python -m benchmarks.flows.live [--seconds 3] [--rates 10000 50000 ...]

Inside a network namespace of its own (loopback at MTU 1500, offloads off, as
../shared/tools/traffic records), a capture process runs `LiveCapture` on `lo` (decoding every
batch, as the flow meter's input would) while a sender sends UDP at one rate after another. For each
rate: packets sent, captured, dropped by the kernel (pcap_stats), the rate achieved, and the
capture's CPU (user + system seconds per second of capture). The figure kept is the highest rate
achieved with zero drops. Needs root (namespaces, raw sockets). The sender is Python, paced: on
a busy 2-core machine it shares the cores with the capture, so a rate it cannot reach ends the run.

`measure()` is what `python -m benchmarks.flows` calls; it returns a plain dict.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Any

SOL_PACKET, PACKET_STATISTICS = 263, 6
COMPARED_RATES = (25_000, 100_000)  # where libpcap and a plain AF_PACKET socket are compared
DEFAULT_RATES = (10_000, 25_000, 50_000, 100_000, 200_000, 500_000, 1_000_000)
SENDERS = 3
PAYLOAD = 64  # bytes of UDP payload: small packets are the hard case for a capture
FILTER = "udp"
# The sender: UDP at a paced rate (bursts sent as the clock says they are due) to a socket that
# never reads, so the kernel answers no ICMP; it prints how many it sent and in how long.
SENDER = r"""
import socket, sys, time
rate, count, size, port = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), 9 + int(sys.argv[4])
sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); sink.bind(("127.0.0.2", port))
sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
send, payload, to = out.sendto, bytes(size), ("127.0.0.2", port)
sent, start = 0, time.perf_counter()
while sent < count:
    due = min(int((time.perf_counter() - start) * rate) + 1, count)
    for _ in range(due - sent):
        send(payload, to)
    if due == sent:
        time.sleep(0.0005)
    sent = max(sent, due)
print(sent, time.perf_counter() - start)
"""


def capture(interface: str, out: Path) -> int:
    """The capture process: count what `LiveCapture` yields until SIGTERM, then write figures."""
    from flows.live import LiveCapture

    with LiveCapture(interface, FILTER) as live:

        def stop(signum: int, frame: FrameType | None) -> None:
            live.stop()

        signal.signal(signal.SIGTERM, stop)
        print("ready", flush=True)
        start_wall = time.monotonic()
        start_cpu = resource.getrusage(resource.RUSAGE_SELF)
        packets = 0
        for batch in live:
            packets += len(batch)
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        wall = time.monotonic() - start_wall
        stats = live.stats()
    figures = {
        "captured": packets,
        "dropped": stats.dropped,
        "wall_seconds": wall,
        "cpu_seconds": cpu.ru_utime - start_cpu.ru_utime + cpu.ru_stime - start_cpu.ru_stime,
        "skipped": dict(live.skipped),
    }
    out.write_text(json.dumps(figures))
    return 0


def capture_af_packet(interface: str, out: Path) -> int:
    """The alternative measured against libpcap: a plain AF_PACKET socket (stdlib), one
    `recvfrom_into` per packet into a chunk buffer, loopback's outgoing copies dropped by their
    packet type, the same numpy decode per chunk. No BPF: the traffic is all UDP anyway."""
    import numpy as np

    from flows.decode import ETHERNET, Frames, decode
    from flows.packets import Skipped

    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))  # ETH_P_ALL
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
    sock.bind((interface, 0))
    sock.settimeout(0.1)
    stopped = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopped
        stopped = True

    signal.signal(signal.SIGTERM, stop)
    print("ready", flush=True)
    start_wall = time.monotonic()
    start_cpu = resource.getrusage(resource.RUSAGE_SELF)
    buffer = bytearray(8 << 20)
    view = memoryview(buffer)
    skipped = Skipped()
    packets = 0
    starts: list[int] = []
    lengths: list[int] = []
    times: list[int] = []
    pos = 0
    outgoing = socket.PACKET_OUTGOING

    def flush() -> int:
        n = len(starts)
        if not n:
            return 0
        caplen = np.array(lengths, np.int64)
        frames = Frames(
            data=np.frombuffer(buffer, np.uint8, count=pos),
            start=np.array(starts, np.int64),
            caplen=caplen,
            wirelen=caplen,
            link_type=np.full(n, ETHERNET, np.int64),
            time_us=np.array(times, np.int64),
            number=np.arange(1, n + 1, dtype=np.int64),
        )
        return len(decode(frames, skipped))

    while not stopped:
        try:
            size, address = sock.recvfrom_into(view[pos : pos + 65536])
        except TimeoutError:
            packets += flush()
            for column in (starts, lengths, times):
                column.clear()
            pos = 0
            continue
        except InterruptedError:
            continue
        if address[2] == outgoing:
            continue
        starts.append(pos)
        lengths.append(size)
        times.append(time.time_ns() // 1000)
        pos += size
        if pos > len(buffer) - 65536 or len(starts) >= 16384:
            packets += flush()
            for column in (starts, lengths, times):
                column.clear()
            pos = 0
    packets += flush()
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.monotonic() - start_wall
    # struct tpacket_stats {unsigned tp_packets, tp_drops}; reading it resets it
    stats = sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
    view.release()
    sock.close()
    figures = {
        "captured": packets,
        "dropped": struct.unpack("II", stats)[1],
        "wall_seconds": wall,
        "cpu_seconds": cpu.ru_utime - start_cpu.ru_utime + cpu.ru_stime - start_cpu.ru_stime,
        "skipped": dict(skipped),
    }
    out.write_text(json.dumps(figures))
    return 0


def _one_rate(
    inside: list[str], rate: int, seconds: float, work: Path, kind: str = "libpcap"
) -> dict[str, Any]:
    out = work / f"capture-{kind}-{rate}.json"
    child = subprocess.Popen(
        [
            *inside,
            sys.executable,
            "-m",
            "benchmarks.flows.live",
            "--capture",
            "lo",
            str(out),
            "--kind",
            kind,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        if "ready" not in child.stdout.readline():
            raise RuntimeError(f"the capture process did not start (exit {child.wait()})")
        # Several paced senders share the rate: one Python sender tops out below what the
        # capture can take.
        each = max(int(rate * seconds) // SENDERS, 1)
        senders = [
            subprocess.Popen(
                [
                    *inside,
                    sys.executable,
                    "-c",
                    SENDER,
                    str(rate // SENDERS),
                    str(each),
                    str(PAYLOAD),
                    str(i),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            for i in range(SENDERS)
        ]
        results = [sender.communicate(timeout=seconds * 20 + 60)[0].split() for sender in senders]
        count = sum(int(result[0]) for result in results)
        sending = max(float(result[1]) for result in results)
        time.sleep(0.5)  # the last ring block reaches the capture
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()
    figures: dict[str, Any] = json.loads(out.read_text())
    return {
        "kind": kind,
        "target_pps": rate,
        "sent": count,
        "captured": figures["captured"],
        "dropped": figures["dropped"],
        "achieved_pps": round(figures["captured"] / sending),
        "capture_cpu": round(figures["cpu_seconds"] / figures["wall_seconds"], 3),
        "capture_cpu_us_per_packet": round(
            figures["cpu_seconds"] / max(figures["captured"], 1) * 1e6, 3
        ),
        "lost": count - figures["captured"],
    }


def measure(
    args: argparse.Namespace | None = None,
    *,
    rates: tuple[int, ...] = DEFAULT_RATES,
    seconds: float = 3.0,
    compare: bool = True,
) -> dict[str, Any]:
    """Rates tried in increasing order until the kernel drops packets (or the sender cannot go
    faster); returns every step and the highest zero-drop rate. `args`: the caller's options,
    of which `live_rates` and `live_seconds` are read when present."""
    if args is not None:
        rates = tuple(getattr(args, "live_rates", None) or rates)
        seconds = float(getattr(args, "live_seconds", None) or seconds)
    if os.geteuid() != 0:
        return {"skipped": "live capture benchmark needs root (namespaces, raw sockets)"}
    name = f"ids-flows-live-bench-{os.getpid()}"
    steps: list[dict[str, Any]] = []
    compared: list[dict[str, Any]] = []
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        inside = ["ip", "netns", "exec", name]
        subprocess.run([*inside, "ip", "link", "set", "lo", "mtu", "1500", "up"], check=True)
        subprocess.run(
            [*inside, "ethtool", "-K", "lo", "tso", "off", "gso", "off", "gro", "off"],
            capture_output=True,
            check=False,
        )
        with tempfile.TemporaryDirectory() as work:
            # The two ways to capture, side by side at the same rates, alternating.
            for rate in COMPARED_RATES if compare else ():
                for kind in ("libpcap", "af_packet", "libpcap", "af_packet"):
                    compared.append(_one_rate(inside, rate, seconds, Path(work), kind))
            for rate in rates:
                step = _one_rate(inside, rate, seconds, Path(work))
                steps.append(step)
                if step["dropped"] or step["lost"]:
                    break
                if step["achieved_pps"] < 0.8 * rate:
                    break  # the sender is at its limit on this machine: faster asks change nothing
    finally:
        pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
        for pid in pids.stdout.split():
            subprocess.run(["kill", "-9", pid], check=False)
        subprocess.run(["ip", "netns", "del", name], check=False)
    clean = [s for s in steps if not s["dropped"] and not s["lost"]]
    return {
        "interface": "lo (in a private namespace, MTU 1500, offloads off)",
        "payload_bytes": PAYLOAD,
        "seconds_per_rate": seconds,
        "steps": steps,
        "libpcap_vs_af_packet": compared,
        "max_zero_drop_pps": max((s["achieved_pps"] for s in clean), default=0),
        "capture_cpu_at_max": max(clean, key=lambda s: s["achieved_pps"])["capture_cpu"]
        if clean
        else None,
        # What one core would take if capture CPU per packet stayed as measured at the top rate.
        "cpu_bound_pps_estimate": round(
            1e6 / max(clean, key=lambda s: s["achieved_pps"])["capture_cpu_us_per_packet"]
        )
        if clean
        else None,
    }


def render(result: dict[str, Any]) -> list[str]:
    """Markdown lines for a report."""
    lines = ["", "## Live capture", ""]
    if "skipped" in result:
        return [*lines, f"Not measured: {result['skipped']}."]
    lines += [
        f"`flows.live` on {result['interface']}, UDP with {result['payload_bytes']} bytes of "
        f"payload, {result['seconds_per_rate']} s per rate, the capture decoding every batch.",
        "",
        "| asked, packets/s | sent | captured | kernel drops | achieved, packets/s "
        "| capture CPU (share of a core) | CPU per packet, us |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in result["steps"]:
        lines.append(
            f"| {s['target_pps']:,} | {s['sent']:,} | {s['captured']:,} | {s['dropped']:,} "
            f"| {s['achieved_pps']:,} | {s['capture_cpu']:.3f} | {s['capture_cpu_us_per_packet']} |"
        )
    if result.get("libpcap_vs_af_packet"):
        lines += [
            "",
            "The capture's way in, side by side at the same rates (alternating runs): libpcap "
            "through pcapy-ng's `next_batch` (what `flows.live` uses) and a plain AF_PACKET "
            "socket, one `recvfrom_into` per packet.",
            "",
            "| way in | asked, packets/s | captured | kernel drops | CPU per packet, us |",
            "|---|---:|---:|---:|---:|",
        ]
        for s in result["libpcap_vs_af_packet"]:
            lines.append(
                f"| {s['kind']} | {s['target_pps']:,} | {s['captured']:,} | {s['dropped']:,} "
                f"| {s['capture_cpu_us_per_packet']} |"
            )
    lines += [
        "",
        f"Highest rate with zero kernel drops: **{result['max_zero_drop_pps']:,} packets/s** "
        f"(capture CPU {result['capture_cpu_at_max']} of a core; at its CPU per packet, one core "
        f"would take about {result['cpu_bound_pps_estimate'] or 0:,} packets/s). The senders "
        "share the machine's cores with the capture: where a rate is not achieved, the senders, "
        "not the capture, were the limit.",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rates", type=int, nargs="+", default=list(DEFAULT_RATES))
    parser.add_argument("--capture", nargs=2, metavar=("INTERFACE", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--kind", default="libpcap", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.capture:
        run = capture if args.kind == "libpcap" else capture_af_packet
        return run(args.capture[0], Path(args.capture[1]))
    result = measure(rates=tuple(args.rates), seconds=args.seconds)
    print(json.dumps(result, indent=2))
    print("\n".join(render(result)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
