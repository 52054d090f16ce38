"""The image's HEALTHCHECK script, run as Docker runs it, against a stand-in HTTP endpoint."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.deploy.files import ROOT, load_script

SCRIPT = ROOT / "scripts" / "healthcheck.py"


@pytest.mark.parametrize(
    ("env", "url"),
    [
        pytest.param({}, "http://127.0.0.1:8000/v2/health/ready", id="defaults"),
        pytest.param(
            {"IDS_HOST": "0.0.0.0", "IDS_PORT": "9001"},
            "http://127.0.0.1:9001/v2/health/ready",
            id="wildcard host reached on loopback",
        ),
        pytest.param({"IDS_HOST": "::"}, "http://127.0.0.1:8000/v2/health/ready", id="ipv6 any"),
        pytest.param(
            {"IDS_HOST": "10.1.2.3", "IDS_PORT": " 8080 "},
            "http://10.1.2.3:8080/v2/health/ready",
            id="bound to one address",
        ),
        pytest.param({"IDS_HOST": "::1"}, "http://[::1]:8000/v2/health/ready", id="ipv6 literal"),
    ],
)
def test_probe_url_follows_the_server_settings(env: dict[str, str], url: str) -> None:
    assert load_script("healthcheck").probe_url(env) == url


class ReadyHandler(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/v2/health/ready" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # keep pytest output clean
        return


@pytest.fixture
def endpoint(request: pytest.FixtureRequest) -> Iterator[int]:
    handler = type("Handler", (ReadyHandler,), {"status": request.param})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def run_script(port: int) -> subprocess.CompletedProcess[str]:
    # As the HEALTHCHECK runs it: a plain interpreter, the container's environment, here with a
    # proxy set that must not be used for the loopback probe.
    env = {
        "PATH": os.environ.get("PATH", ""),
        "IDS_HOST": "0.0.0.0",
        "IDS_PORT": str(port),
        "HTTP_PROXY": "http://127.0.0.1:9",
        "http_proxy": "http://127.0.0.1:9",
    }
    return subprocess.run(
        [sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize(
    ("endpoint", "code"),
    [
        pytest.param(200, 0, id="ready: healthy"),
        pytest.param(503, 1, id="draining or loading: unhealthy"),
    ],
    indirect=["endpoint"],
)
def test_exit_code_follows_readiness(endpoint: int, code: int) -> None:
    result = run_script(endpoint)
    assert result.returncode == code, result.stderr
    assert f":{endpoint}/v2/health/ready" in result.stdout + result.stderr


def test_no_server_is_unhealthy() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_script(port)  # nothing listens there any more
    assert result.returncode == 1
    assert "unhealthy" in result.stderr
