"""Live detect on a network namespace's loopback: alerts while traffic runs, each within a second
of its flow's end (FIN, RST or timeout), and SIGTERM ends the capture cleanly with every flow
scored."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.conftest import PROJECT_ROOT
from tests.flows.netns import namespace, require_namespaces

# Connections to a low port (attacks, by the port rule) closed with FIN, so they end at once;
# one to a high port (benign); and a UDP exchange with port 53, which only a timeout or the stop
# ends: its alert is written when SIGTERM flushes the open flows.
TRAFFIC = r"""
import socket, threading
def serve(port, count):
    server = socket.socket(); server.bind(("127.0.0.2", port)); server.listen()
    def run():
        for _ in range(count):
            conn, _ = server.accept()
            while data := conn.recv(65536):
                conn.sendall(data)
            conn.close()
    threading.Thread(target=run).start()
serve(80, 3); serve(8080, 1)
for port in (80, 80, 80, 8080):
    client = socket.create_connection(("127.0.0.2", port))
    client.sendall(b"GET / HTTP/1.0\r\n\r\n"); client.shutdown(socket.SHUT_WR)
    while client.recv(65536):
        pass
    client.close()
echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); echo.bind(("127.0.0.2", 53))
out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
out.sendto(b"query", ("127.0.0.2", 53))
data, peer = echo.recvfrom(2048); echo.sendto(data, peer); out.recvfrom(2048)
"""


def _detect(
    prefix: list[str], repository: Path, *options: str, stdout: int | None = None
) -> subprocess.Popen[str]:
    """`detect` capturing on the namespace's `lo`, judging with the `ports` model."""
    return subprocess.Popen(
        [
            *prefix,
            *(sys.executable, "-m", "detect", "--interface", "lo"),
            *("--artifacts", str(repository), "--model", "ports", *options),
        ],
        cwd=PROJECT_ROOT,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
    )


def _lines(path: Path) -> list[dict[str, object]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def test_live_alerts_arrive_while_traffic_runs_and_sigterm_scores_the_rest(
    repository: Path, tmp_path: Path
) -> None:
    require_namespaces()
    out = tmp_path / "alerts.jsonl"
    with namespace(f"ids-detect-{os.getpid()}") as prefix:
        detect = _detect(prefix, repository, "--alerts", str(out))
        try:
            assert detect.stderr is not None
            first = detect.stderr.readline()
            assert "detect: capturing on lo" in first, first + detect.stderr.read()
            subprocess.run([*prefix, sys.executable, "-c", TRAFFIC], check=True, timeout=60)
            # The three FIN-ended attack flows are written while the capture runs.
            deadline = time.monotonic() + 60
            while len(_lines(out)) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            during = _lines(out)
            assert detect.poll() is None
            detect.send_signal(signal.SIGTERM)
            status = detect.wait(timeout=60)
            stderr = detect.stderr.read()
        finally:
            if detect.poll() is None:
                detect.kill()
                detect.wait()
            if detect.stderr is not None:
                detect.stderr.close()
    assert status == 0, stderr
    assert len(during) == 3
    assert {alert["dest_port"] for alert in during} == {80}
    after = _lines(out)
    assert len(after) == 4
    assert after[3]["proto"] == "UDP"
    assert after[3]["dest_port"] == 53
    summary = re.search(
        r"detect: ([\d,]+) flows from lo \(live\).*the flow meter ended ([\d,]+)", stderr
    )
    assert summary, stderr
    assert summary.group(1) == summary.group(2) == "5"
    assert re.search(r"ATTACK\s+4\s", stderr)
    assert re.search(r"BENIGN\s+1\s", stderr)


# One flow for each way a flow ends: a connection to port 80 closed with FIN (the client's
# first, as in TRAFFIC: one flow, no trailing one), one to port 81 refused with RST, and a UDP
# exchange with port 53 that only its timeout ends.
ENDINGS = r"""
import socket
server = socket.socket(); server.bind(("127.0.0.2", 80)); server.listen()
client = socket.create_connection(("127.0.0.2", 80)); conn, _ = server.accept()
client.sendall(b"GET / HTTP/1.0\r\n\r\n"); client.shutdown(socket.SHUT_WR)
while data := conn.recv(65536):
    conn.sendall(data)
conn.close()
while client.recv(65536):
    pass
client.close()
try:
    socket.create_connection(("127.0.0.2", 81))
except ConnectionRefusedError:
    pass
echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); echo.bind(("127.0.0.2", 53))
out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
out.sendto(b"query", ("127.0.0.2", 53))
data, peer = echo.recvfrom(2048); echo.sendto(data, peer); out.recvfrom(2048)
"""
FLOW_TIMEOUT_S = 2
WITHIN_S = 1.0  # the promise: each alert within one second of its flow's end


def _seconds(eve_time: object) -> float:
    return datetime.strptime(str(eve_time), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def _ended(alert: dict[str, Any]) -> float:
    """When the flow ended: its last packet for a FIN or RST, else its timeout. CICFlowMeter's
    timeout counts from the first packet, no later than the last packet + the timeout."""
    if alert["proto"] == "UDP":
        return _seconds(alert["flow"]["start"]) + FLOW_TIMEOUT_S
    return _seconds(alert["timestamp"])


def test_live_alerts_come_within_a_second_of_the_flow_ending(repository: Path) -> None:
    require_namespaces()
    arrived: list[tuple[float, dict[str, Any]]] = []
    with namespace(f"ids-detect-end-{os.getpid()}") as prefix:
        detect = _detect(
            prefix,
            repository,
            "--flow-timeout",
            str(FLOW_TIMEOUT_S),
            "--alerts",
            "-",
            stdout=subprocess.PIPE,
        )
        assert detect.stdout is not None
        assert detect.stderr is not None
        stdout = detect.stdout

        def read() -> None:
            # Each line timed as it arrives: this thread waits on the pipe, nothing polls.
            for line in stdout:
                arrived.append((time.time(), json.loads(line)))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            first = detect.stderr.readline()
            assert "detect: capturing on lo" in first, first + detect.stderr.read()
            subprocess.run([*prefix, sys.executable, "-c", ENDINGS], check=True, timeout=60)
            deadline = time.monotonic() + 60
            while not any(a["proto"] == "UDP" for _, a in arrived) and time.monotonic() < deadline:
                time.sleep(0.05)
            stopped = time.time()
            detect.send_signal(signal.SIGTERM)
            status = detect.wait(timeout=60)
            reader.join(timeout=60)
            stderr = detect.stderr.read()
        finally:
            if detect.poll() is None:
                detect.kill()
                detect.wait()
            detect.stdout.close()
            detect.stderr.close()
    assert status == 0, stderr
    # Flows the stop ended come after it; every other came as its flow ended.
    running = [(at, alert) for at, alert in arrived if at < stopped]
    assert sorted(alert["dest_port"] for _, alert in running) == [53, 80, 81], arrived
    for at, alert in running:
        late = at - _ended(alert)
        assert 0 <= late <= WITHIN_S, (
            f"{alert['ids_inference']['flow']}: alert {late:.3f} s after the flow ended"
        )
    assert "(FIN 1, RST 1, timeout 1, end of input 0)" in stderr, stderr
