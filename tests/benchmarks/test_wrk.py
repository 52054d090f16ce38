"""The wrk driver: output captured from real wrk runs parses to the right figures."""

from __future__ import annotations

import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from benchmarks.wrk import (
    INSTALL_HINT,
    Payload,
    WrkError,
    lua_script,
    parse_wrk_output,
    run_wrk,
    wrk_command,
)

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    ("sample", "requests", "rate", "p50_s", "p99_s", "errors"),
    [
        pytest.param("wrk-floor-c8.txt", 67748, 32270.66, 213e-6, 493e-6, 0, id="clean run"),
        pytest.param("wrk-not-found-c1.txt", 28538, 13594.51, 74e-6, 105e-6, 28538, id="404s"),
        pytest.param(
            "wrk-server-error-c8.txt", 5658, 2694.39, 2.62e-3, 2.78e-3, 2 * 5658, id="500s"
        ),
        pytest.param(
            "wrk-baseline-single-c64.txt", 586, 146.42, 433.24e-3, 447.26e-3, 0, id="slow server"
        ),
        pytest.param(
            "wrk-baseline-single-c512-timeouts.txt",
            688,
            136.54,
            174.02e-3,
            1.16,
            15,
            id="timeouts, seconds",
        ),
        pytest.param("wrk-no-request-completed.txt", 0, 0.0, 0.0, 0.0, 0, id="nothing done"),
    ],
)
def test_parse_captured_output(
    sample: str, requests: int, rate: float, p50_s: float, p99_s: float, errors: int
) -> None:
    result = parse_wrk_output((DATA / sample).read_text())
    assert result.requests == requests
    assert result.requests_per_s == pytest.approx(rate)
    assert result.latency_p50_s == pytest.approx(p50_s)
    assert result.latency_p99_s == pytest.approx(p99_s)
    assert result.errors == errors


def test_latency_percentiles_are_ordered() -> None:
    result = parse_wrk_output((DATA / "wrk-baseline-single-c512-timeouts.txt").read_text())
    latencies = [result.latency_p50_s, result.latency_p75_s, result.latency_p90_s]
    assert latencies == sorted(latencies)
    assert result.latency_p90_s < result.latency_p99_s
    assert result.latency_mean_s == pytest.approx(187.20e-3)
    assert result.duration_s == pytest.approx(5.04)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("unable to connect to 127.0.0.1:1 Connection refused\n", id="refused"),
        pytest.param(
            (DATA / "wrk-floor-c8.txt").read_text().split("  Latency Distribution")[0]
            + "  67748 requests in 2.10s, 19.90MB read\nRequests/sec:  32270.66\n",
            id="run without --latency",
        ),
    ],
)
def test_unparseable_output_raises(text: str) -> None:
    with pytest.raises(WrkError):
        parse_wrk_output(text)


class Recorder(BaseHTTPRequestHandler):
    """Answers 200 to every POST and keeps what it received."""

    protocol_version = "HTTP/1.1"
    received: ClassVar[list[tuple[str, str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers.get("X-Kind", ""), body))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.skipif(shutil.which("wrk") is None, reason=INSTALL_HINT)
def test_wrk_posts_every_payload_in_turn_with_its_headers(tmp_path: Path) -> None:
    bodies = {"json": b'{"features": [1.0]}', "binary": b'{"x": 1}\x00\x01\xff'}
    payloads = []
    for kind, body in bodies.items():
        (tmp_path / kind).write_bytes(body)
        payloads.append(Payload(tmp_path / kind, {"X-Kind": kind}))
    script = tmp_path / "load.lua"
    script.write_text(lua_script(payloads))
    Recorder.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/predict"
        result = run_wrk(wrk_command(url, script, connections=1, duration_s=1, timeout_s=2))
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert result.errors == 0
    assert result.requests >= 2
    assert len(Recorder.received) >= result.requests
    assert {path for path, _, _ in Recorder.received} == {"/predict"}
    assert {(kind, body) for _, kind, body in Recorder.received} == set(bodies.items())
    kinds = [kind for _, kind, _ in Recorder.received[:4]]
    assert kinds[0] != kinds[1]
