"""Live capture on a namespace's loopback, against tcpdump recording beside it."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from flows.errors import FilterError, InterfaceNotFoundError
from flows.live import LiveCapture
from flows.packets import PacketBatch
from tests.conftest import PROJECT_ROOT
from tests.flows.netns import namespace, require_namespaces
from tests.flows.read import read_all, rows

TRAFFIC = r"""
import socket, threading
server = socket.socket(); server.bind(("127.0.0.2", 8080)); server.listen()
def serve():
    for _ in range(3):
        conn, _ = server.accept()
        while data := conn.recv(65536):
            conn.sendall(data[::-1])
        conn.close()
threading.Thread(target=serve).start()
for size in (10, 5000, 70000):
    client = socket.create_connection(("127.0.0.2", 8080))
    client.sendall(b"x" * size); client.shutdown(socket.SHUT_WR)
    while client.recv(65536):
        pass
    client.close()
echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); echo.bind(("127.0.0.2", 5353))
for size in (1, 100, 1400):
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out.sendto(b"u" * size, ("127.0.0.2", 5353))
    data, peer = echo.recvfrom(2048); echo.sendto(data, peer); out.recvfrom(2048)
"""


def _wait_for_line(process: subprocess.Popen[str], stream: str, text: str) -> None:
    pipe = getattr(process, stream)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = pipe.readline()
        if text in line:
            return
        if not line and process.poll() is not None:
            break
    raise AssertionError(f"{process.args!r} never said {text!r} (exit {process.poll()})")


def _finish(process: subprocess.Popen[str]) -> None:
    """Wait for a process told to stop (killing it if it does not), and close its pipes."""
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for pipe in (process.stdout, process.stderr):
        if pipe is not None:
            pipe.close()


def _wait_until_recorded(path: Path, packets: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if path.exists() and len(read_all(path)[0]) >= packets:
            return
        time.sleep(0.2)


def _timeless(row: dict[str, int]) -> dict[str, int]:
    return {name: value for name, value in row.items() if name != "time_us"}


TOLERANCE_US = 1000


def _in_order(packets: PacketBatch, cuts: list[int]) -> list[list[tuple[tuple[str, int], ...]]]:
    """The packets in order, but within each run between two `cuts`, whose order is left open
    (each run's packets sorted by their fields)."""
    found = [
        tuple(sorted((k, v) for k, v in _timeless(row).items() if k != "number"))
        for row in rows(packets)
    ]
    return [sorted(found[a:b]) for a, b in itertools.pairwise([0, *cuts, len(found)])]


def _runs(packets: PacketBatch, within_us: int) -> list[int]:
    """Where runs of packets less than `within_us` apart begin."""
    return (np.flatnonzero(np.diff(packets.time_us) >= within_us) + 1).tolist()


def _batch(path: Path) -> PacketBatch:
    saved = np.load(path)
    return PacketBatch(**{f.name: saved[f.name] for f in fields(PacketBatch)})


def test_capture_sees_what_tcpdump_records(tmp_path: Path) -> None:
    require_namespaces()
    bpf = "tcp or udp"
    with namespace(f"ids-flows-live-{os.getpid()}") as inside:
        tcpdump = subprocess.Popen(
            [
                *inside,
                "tcpdump",
                "-i",
                "lo",
                "-s",
                "0",
                "-U",
                "-w",
                str(tmp_path / "ref.pcap"),
                bpf,
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        child = subprocess.Popen(
            [
                *inside,
                sys.executable,
                "-m",
                "tests.flows.live_child",
                "lo",
                bpf,
                str(tmp_path / "live.npz"),
            ],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            _wait_for_line(tcpdump, "stderr", "listening on")
            _wait_for_line(child, "stdout", "ready")
            subprocess.run([*inside, sys.executable, "-c", TRAFFIC], check=True, timeout=120)
            time.sleep(0.5)  # an idle spell: the capture keeps yielding (empty) batches
            child.send_signal(signal.SIGTERM)
            assert child.wait(timeout=60) == 0
            # tcpdump writes each packet as it reads it; on a busy machine it can still be
            # behind: give it until it has what the capture saw (or a minute) before stopping it.
            _wait_until_recorded(tmp_path / "ref.pcap", len(_batch(tmp_path / "live.npz")))
        finally:
            tcpdump.send_signal(signal.SIGINT)
            _finish(tcpdump)
            _finish(child)
    recorded, skipped = read_all(tmp_path / "ref.pcap")
    live = _batch(tmp_path / "live.npz")
    summary = json.loads((tmp_path / "live.json").read_text())
    assert len(recorded) > 20  # three TCP connections and three UDP exchanges
    assert not skipped
    # Each packet once, though a packet socket sees lo twice; each socket takes its own kernel
    # timestamp, so times agree to a few microseconds rather than exactly, and two packets sent
    # within those microseconds may reach the two sockets in either order.
    assert len(live) == len(recorded)
    cuts = _runs(live, TOLERANCE_US)
    assert _in_order(live, cuts) == _in_order(recorded, cuts)
    assert np.abs(live.time_us - recorded.time_us).max() < TOLERANCE_US
    assert summary["dropped"] == 0
    assert summary["empty"] >= 1


@pytest.mark.parametrize(
    "how",
    [
        pytest.param([], id="stop() from the signal handler"),
        pytest.param(["abandon"], id="an exception raised into the blocked read"),
    ],
)
def test_sigterm_stops_an_idle_capture(tmp_path: Path, how: list[str]) -> None:
    require_namespaces()
    with namespace(f"ids-flows-stop-{os.getpid()}") as inside:
        child = subprocess.Popen(
            [
                *inside,
                sys.executable,
                "-m",
                "tests.flows.live_child",
                "lo",
                "",
                str(tmp_path / "l.npz"),
                *how,
            ],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            _wait_for_line(child, "stdout", "ready")
            child.send_signal(signal.SIGTERM)
            assert child.wait(timeout=60) == 0
        finally:
            _finish(child)
    assert len(_batch(tmp_path / "l.npz")) == 0


def test_without_cap_net_raw_the_error_says_how_to_grant_it(tmp_path: Path) -> None:
    require_namespaces()
    done = subprocess.run(
        [
            "setpriv",
            "--inh-caps=-net_raw",
            "--bounding-set=-net_raw",
            "--",
            sys.executable,
            "-m",
            "tests.flows.live_child",
            "lo",
            "",
            str(tmp_path / "x.npz"),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3
    assert "needs the CAP_NET_RAW capability" in done.stderr
    # the interpreter itself, not a venv's link or a pyenv shim that `which python3` finds
    assert f"setcap cap_net_raw,cap_net_admin+eip {os.path.realpath(sys.executable)}\n" in (
        done.stderr
    )


def test_an_unknown_interface_is_named() -> None:
    with pytest.raises(InterfaceNotFoundError, match="no network interface is named 'nope0'"):
        LiveCapture("nope0")


def test_a_filter_that_does_not_compile_is_named() -> None:
    require_namespaces()
    with pytest.raises(FilterError, match=r"filter 'tcp and and' does not compile: .*syntax error"):
        LiveCapture("lo", "tcp and and")
