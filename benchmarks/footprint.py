"""Footprint: time from process start to ready, and resident memory with every model loaded."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.processes import (
    ServiceError,
    ServiceSpec,
    free_port,
    http,
    peak_rss_bytes,
    rss_bytes,
    started,
)
from benchmarks.wrk import Payload


@dataclass(frozen=True)
class Request:
    path: str
    payload: Payload


@dataclass(frozen=True)
class Footprint:
    service: str
    ready_s: tuple[float, ...]
    rss_ready_bytes: int
    rss_serving_bytes: int
    peak_rss_bytes: int

    @property
    def ready_median_s(self) -> float:
        return statistics.median(self.ready_s)


def measure_footprint(
    spec_for_port: Callable[[int], ServiceSpec],
    requests: Sequence[Request],
    starts: int,
    work_dir: Path,
) -> Footprint:
    """Start the server `starts` times (unpinned, nothing else running in this process).

    Memory is read from /proc on the last start: once ready, then after `requests` (one
    prediction per model, so every lazily allocated buffer exists), and the peak so far.
    """
    ready: list[float] = []
    name = "?"
    rss_ready = rss_serving = peak = 0
    for _ in range(max(starts, 1)):
        spec = spec_for_port(free_port())
        name = spec.name
        with started(spec, work_dir / f"{spec.name}-footprint.log") as running:
            ready.append(running.ready_s)
            rss_ready = rss_bytes(running.pid)
            for request in requests:
                answer = http(
                    running.base_url + request.path,
                    request.payload.body_file.read_bytes(),
                    request.payload.headers,
                )
                if answer.status != 200:
                    raise ServiceError(
                        f"{name} {request.path} answered {answer.status}: {answer.body[:300]!r}"
                    )
            rss_serving = rss_bytes(running.pid)
            peak = peak_rss_bytes(running.pid)
    return Footprint(name, tuple(ready), rss_ready, rss_serving, peak)
