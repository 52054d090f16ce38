"""Live detect on a network namespace's loopback: alerts while traffic runs, and SIGTERM ends the
capture cleanly with every flow scored."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

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
        detect = subprocess.Popen(
            [
                *prefix,
                sys.executable,
                "-m",
                "detect",
                "--interface",
                "lo",
                "--artifacts",
                str(repository),
                "--model",
                "ports",
                "--alerts",
                str(out),
            ],
            cwd=PROJECT_ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
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
