"""What each answered request leaves behind, its metrics and its access-log line, worked out in
batches.

The request path only appends one tuple per request. A callback at most `FLUSH_SECONDS` later
(sooner once `FLUSH_RECORDS` are waiting) turns the batch into metric updates and JSON lines, and
writes the lines at once. Doing the same work request by request measured several microseconds
more per request over HTTP at concurrency 8: between two requests, uvicorn, httptools and
onnxruntime push this code out of the CPU caches, while a batch runs it hot. Metrics are
therefore a few milliseconds behind (a scrape of this process flushes first), and so are log
lines.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson

from server.auth import HEALTH, METRICS
from server.logs import LEVELS, timestamp, write_lines
from server.metrics.recorder import Metrics

# The scope key under which a request's onnxruntime runs are noted (model, version, rows, seconds).
RUNS = "ids.runs"
Run = tuple[str, str, int, float]
# Larger batches cost less per request and pause the loop longer: 20 ms / 256 measured 1.5 us less
# per request than 5 ms / 64 but doubled the p99 latency of single requests (0.47 ms, not 0.27).
FLUSH_SECONDS = 0.005
FLUSH_RECORDS = 64
_QUIET = HEALTH | {METRICS}  # counted in the metrics, kept out of the access log
_LEVEL_NAMES = {value: name for name, value in LEVELS.items()}

# (wall clock, seconds taken, status, method, route template, runs, request id, path, client,
#  path parameters)
Record = tuple[
    float, float, int, str, str, "list[Run] | None", bytes, str, Any, "dict[str, Any] | None"
]


def _level(status: int) -> int:
    if status == 500:
        return LEVELS["error"]
    return LEVELS["warning"] if status >= 500 else LEVELS["info"]


class RequestRecords:
    __slots__ = ("_loop", "_metrics", "_pending", "min_level")

    def __init__(self, metrics: Callable[[], Metrics], level: str, access_log: bool) -> None:
        self._metrics = metrics
        # Lines below the configured level are not written (at level warning, a request that
        # failed with a 5xx still is); with the access log off, none is.
        self.min_level = LEVELS[level] if access_log else LEVELS["critical"] + 1
        self._pending: list[Record] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def add(self, record: Record) -> None:
        pending = self._pending
        pending.append(record)
        if len(pending) == 1 and self._loop is not None:
            self._loop.call_later(FLUSH_SECONDS, self.flush)
        elif len(pending) >= FLUSH_RECORDS or self._loop is None:
            self.flush()

    def flush(self) -> None:
        records, self._pending = self._pending, []
        if not records:
            return
        metrics = self._metrics()
        min_level = self.min_level
        # One buffer for every line: orjson's outputs are copied into it at once (keeping them
        # in a list instead measured several times slower: hundreds of freed 1 KiB allocations
        # make glibc hand memory back to the system on every batch).
        lines = bytearray()
        for wall, seconds, status, method, route, runs, request_id, path, client, params in records:
            model = version = None
            rows = 0
            if runs:
                for name, run_version, run_rows, run_seconds in runs:
                    metrics.run(name, run_version, run_seconds)
                    rows += run_rows
                if len(runs) == 1:
                    model, version = runs[0][0], runs[0][1]
                else:  # a batch across models or versions
                    model = ",".join(dict.fromkeys(run[0] for run in runs))
                    version = ",".join(dict.fromkeys(run[1] for run in runs))
            metrics.request(route, model or "", status, seconds, rows)
            level = _level(status)
            if level < min_level or path in _QUIET:
                continue
            if model is None and params:  # what the request asked for, though nothing ran
                model, version = params.get("name"), params.get("version")
            entry = {
                "ts": timestamp(wall),
                "level": _LEVEL_NAMES[level],
                "event": "request",
                "request_id": request_id.decode("latin-1"),
                "method": method,
                "route": route,
                "model": model,
                "version": version,
                "rows": rows,
                "status": status,
                "duration_ms": int(seconds * 1e6) / 1000,  # rounded to the microsecond
                "client": client[0] if client else None,
            }
            lines += orjson.dumps(entry, option=orjson.OPT_APPEND_NEWLINE)
        if lines:
            write_lines(bytes(lines))

    def stop(self) -> None:
        self.flush()
        self._loop = None
