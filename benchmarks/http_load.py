"""Over HTTP: the same payloads against each server in turn, measured with wrk.

One server runs at a time. With two or more cores, the server is pinned to one core and wrk to
another, so the load generator never takes CPU from the server it measures. Single predictions
run at several concurrencies; batches run one request at a time (rows/s = rows / mean latency),
since a batch already fills the server's core.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.processes import Running, ServiceError, http
from benchmarks.wrk import Payload, WrkResult, lua_script, run_wrk, wrk_command

CONCURRENCY = (1, 8, 64)


@dataclass(frozen=True)
class Scenario:
    """One kind of request: where it goes, its payloads (sent in turn), rows per request."""

    name: str
    path: str
    payloads: Sequence[Payload]
    rows: int
    connections: int


@dataclass(frozen=True)
class Load:
    """How long to load each scenario."""

    duration_s: float
    warmup_s: float
    max_duration_s: float
    min_requests: int = 3


@dataclass(frozen=True)
class HttpResult:
    service: str
    scenario: str
    connections: int
    rows: int
    tool: str  # "wrk", or "sequential" when one request outlasts what wrk could be given
    result: WrkResult

    @property
    def rows_per_s(self) -> float:
        if self.result.requests == 0:
            return 0.0
        if self.connections == 1:
            return self.rows / self.result.latency_mean_s
        return self.rows * self.result.requests_per_s


def cpu_plan() -> tuple[int | None, int | None]:
    """(server core, wrk core): two distinct cores when there are two, else no pinning."""
    cores = sorted(os.sched_getaffinity(0))
    return (cores[0], cores[1]) if len(cores) >= 2 else (None, None)


def probe(url: str, payload: Payload) -> tuple[float, bytes]:
    """One request: checks the server answers 2xx and how long it takes; returns the body."""
    body = payload.body_file.read_bytes()
    start = time.perf_counter()
    answer = http(url, body, payload.headers, timeout_s=600)
    elapsed = time.perf_counter() - start
    if not 200 <= answer.status < 300:
        raise ServiceError(f"{url} answered {answer.status}: {answer.body[:500]!r}")
    return elapsed, answer.body


def sequential(url: str, payload: Payload, count: int) -> WrkResult:
    """`count` requests one after the other, summarised as wrk would, for very slow servers."""
    times = sorted(probe(url, payload)[0] for _ in range(count))

    def percentile(p: float) -> float:
        return times[min(len(times) - 1, math.ceil(p / 100 * len(times)) - 1)]

    total = sum(times)
    return WrkResult(
        requests=count,
        duration_s=total,
        requests_per_s=count / total,
        latency_mean_s=total / count,
        latency_p50_s=percentile(50),
        latency_p75_s=percentile(75),
        latency_p90_s=percentile(90),
        latency_p99_s=percentile(99),
        socket_errors=0,
        non_2xx=0,
    )


def measure(
    running: Running, scenario: Scenario, load: Load, work_dir: Path, wrk_cpu: int | None
) -> tuple[HttpResult, bytes]:
    """Probe, warm up and load one scenario; returns the result and one answer's body."""
    url = running.base_url + scenario.path
    probe_s, answer = probe(url, scenario.payloads[0])
    per_connection_s = probe_s / scenario.connections
    if probe_s * load.min_requests > load.max_duration_s:
        count = max(1, int(load.max_duration_s // probe_s))
        result = sequential(url, scenario.payloads[0], count)
        return HttpResult(
            running.name, scenario.name, 1, scenario.rows, "sequential", result
        ), answer
    script = work_dir / f"{scenario.name.replace(' ', '-')}.lua"
    script.write_text(lua_script(scenario.payloads))
    timeout_s = max(5.0, 10 * probe_s)

    def command(duration_s: float) -> list[str]:
        return wrk_command(
            url,
            script,
            connections=scenario.connections,
            duration_s=duration_s,
            timeout_s=timeout_s,
            cpu=wrk_cpu,
        )

    if probe_s < load.warmup_s:
        run_wrk(command(load.warmup_s))
    duration_s = max(load.duration_s, load.min_requests * per_connection_s)
    result = run_wrk(command(min(duration_s, load.max_duration_s)))
    return HttpResult(
        running.name, scenario.name, scenario.connections, scenario.rows, "wrk", result
    ), answer
