"""Sustained load on a real server process: zero errors, resident memory flat after warm-up.
Latency and throughput are recorded for the report, never asserted."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

from benchmarks.processes import ServerProcess
from benchmarks.reliability.load import hold
from benchmarks.wrk import INSTALL_HINT
from tests.reliability.conftest import Record, profiles
from tests.reliability.payloads import batch_request, single_requests, wrk_payloads


class Timing(NamedTuple):
    duration_s: float
    warmup_s: float
    connections: int


MAX_RSS_GROWTH = 0.10
SHAPES = {
    "single": lambda: single_requests(16),
    "batch of 1000": lambda: [batch_request(1000)],
}


@pytest.mark.parametrize("shape", [pytest.param(name, id=name) for name in SHAPES])
@pytest.mark.parametrize("timing", profiles(Timing(3.0, 2.0, 16), Timing(60.0, 15.0, 64)))
def test_load_holds_with_no_error_and_flat_memory(
    start: Callable[..., ServerProcess],
    repository: Path,
    tmp_path: Path,
    record: Record,
    shape: str,
    timing: Timing,
) -> None:
    if shutil.which("wrk") is None:
        pytest.skip(INSTALL_HINT)
    server = start({"ARTIFACTS_PATH": str(repository), "IDS_LOG_LEVEL": "warning"})
    path = "/predict" if shape == "single" else "/predict/batch"
    held = hold(
        server.url + path,
        server.pid,
        wrk_payloads(SHAPES[shape](), tmp_path),
        connections=timing.connections,
        duration_s=timing.duration_s,
        warmup_s=timing.warmup_s,
        work_dir=tmp_path,
    )
    result = held.result
    record(
        "load",
        shape=shape,
        connections=timing.connections,
        duration_s=result.duration_s,
        requests=result.requests,
        requests_per_s=result.requests_per_s,
        p50_ms=result.latency_p50_s * 1000,
        p99_ms=result.latency_p99_s * 1000,
        errors=result.errors,
        rss_start_mb=held.rss_start / 1e6,
        rss_end_mb=held.rss_end / 1e6,
        rss_peak_mb=max(held.rss) / 1e6,
        rss_growth=held.rss_growth,
        command=" ".join(held.command),
    )
    assert result.requests > 0
    assert result.errors == 0, result
    assert held.rss_growth < MAX_RSS_GROWTH, held.rss
