"""Servers under test as real processes: readiness, answers over the socket, memory from /proc."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from benchmarks.processes import (
    ServiceError,
    ServiceSpec,
    free_port,
    http,
    peak_rss_bytes,
    rss_bytes,
    started,
)


def test_floor_process_starts_answers_and_stops(tmp_path: Path) -> None:
    body = tmp_path / "answer.json"
    body.write_bytes(b'{"prediction": "BENIGN"}')
    port = free_port()
    argv = [sys.executable, "-m", "benchmarks.floor_service", "--port", str(port)]
    spec = ServiceSpec("floor", [*argv, "--body", f"/predict={body}"], {}, port, "/v2/health/ready")
    with started(spec, tmp_path / "floor.log") as running:
        assert running.ready_s > 0
        answer = http(running.base_url + "/predict", b"{}", {"Content-Type": "application/json"})
        assert (answer.status, answer.body) == (200, b'{"prediction":"BENIGN"}')
        assert 10e6 < rss_bytes(running.pid) <= peak_rss_bytes(running.pid)
        pid = running.pid
    assert (
        not Path(f"/proc/{pid}/status").exists()
        or "zombie" in Path(f"/proc/{pid}/status").read_text()
    )


def test_a_server_that_dies_at_start_is_reported_with_its_output(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import sys; print('no models here'); sys.exit(3)"]
    spec = ServiceSpec("broken", argv, {}, free_port(), "/health")
    with (
        pytest.raises(ServiceError, match=r"exited with 3 before ready:\n.*no models here"),
        started(spec, tmp_path / "broken.log"),
    ):
        pass
