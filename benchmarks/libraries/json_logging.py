"""`server.logs` and the access log done with python-json-logger: every line a `LogRecord`
through the standard `logging` machinery, rendered by the library's orjson formatter.

Configured, not rewritten: the field names come from `fmt` and `rename_fields`, the timestamp
from `logging.Formatter`'s own time settings (UTC, milliseconds, `Z`), event fields from
`extra`. One hook is overridden, `process_log_record`, to write levels in lower case as ours does.
The request lines keep our batching (a callback every 5 ms): only how a line is made and written
changes, so the difference measured is the library's.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from pythonjsonlogger.core import LogData
from pythonjsonlogger.orjson import OrjsonFormatter

from server.logs import LEVELS
from server.request_records import _QUIET, RequestRecords, _level


class LibraryFormatter(OrjsonFormatter):
    converter = staticmethod(time.gmtime)
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"

    def process_log_record(self, log_data: LogData) -> LogData:
        log_data["level"] = log_data["level"].lower()
        return log_data


class LifecycleFormatter(LibraryFormatter):
    """Stands in for `server.logs.JsonFormatter`."""

    def __init__(self) -> None:
        super().__init__(
            ["asctime", "levelname", "name", "message"],
            rename_fields={
                "asctime": "ts",
                "levelname": "level",
                "name": "logger",
                "exc_info": "exception",
            },
            defaults={"event": "log"},
        )


class StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A `StreamHandler` on whatever `sys.stdout` is now (tests capture it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


ACCESS = logging.getLogger("ids.access")
ACCESS.propagate = False
ACCESS.setLevel(logging.DEBUG)  # the level is chosen in `flush`, as ours does
_access_handler = StdoutHandler()
_access_handler.setFormatter(
    LibraryFormatter(
        ["asctime", "levelname"],
        rename_fields={"asctime": "ts", "levelname": "level"},
    )
)
ACCESS.handlers[:] = [_access_handler]


class LibraryRecords(RequestRecords):
    """Ours, with each access-log line logged through python-json-logger."""

    __slots__ = ()

    def flush(self) -> None:
        records, self._pending = self._pending, []
        if not records:
            return
        metrics = self._metrics()
        min_level = self.min_level
        log = ACCESS.log
        for (
            _wall,
            seconds,
            status,
            method,
            route,
            runs,
            request_id,
            path,
            client,
            params,
        ) in records:
            model = version = None
            rows = 0
            if runs:
                for name, run_version, run_rows, run_seconds in runs:
                    metrics.run(name, run_version, run_seconds)
                    rows += run_rows
                if len(runs) == 1:
                    model, version = runs[0][0], runs[0][1]
                else:
                    model = ",".join(dict.fromkeys(run[0] for run in runs))
                    version = ",".join(dict.fromkeys(run[1] for run in runs))
            metrics.request(route, model or "", status, seconds, rows)
            level = _level(status)
            if level < min_level or path in _QUIET:
                continue
            if model is None and params:
                model, version = params.get("name"), params.get("version")
            log(
                level,
                "request",
                extra={
                    "event": "request",
                    "request_id": request_id.decode("latin-1"),
                    "method": method,
                    "route": route,
                    "model": model,
                    "version": version,
                    "rows": rows,
                    "status": status,
                    "duration_ms": int(seconds * 1e6) / 1000,
                    "client": client[0] if client else None,
                },
            )


def event(
    logger: logging.Logger,
    name: str,
    message: str,
    level: int = logging.INFO,
    exc_info: BaseException | None = None,
    **fields: Any,
) -> None:
    """Lifecycle events with their fields as `extra`, which the library flattens."""
    logger.log(level, message, exc_info=exc_info, extra={"event": name, **fields})


def configure_logging(level: str) -> None:
    handler = StdoutHandler()
    handler.setFormatter(LifecycleFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(LEVELS[level])
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
