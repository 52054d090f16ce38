"""Structured logs: one JSON object per line on standard output, for requests and lifecycle events.

Lifecycle events (start-up, model loaded/unloaded/failed, shutdown) and uvicorn's own messages go
through the standard `logging` module, rendered by `JsonFormatter`. The access log does not: a
`LogRecord` per request costs microseconds the request path cannot spare, so
`server.request_records` writes its lines with orjson, in batches, to the same output.
"""

from __future__ import annotations

import logging
import sys
import time
import traceback
from typing import IO, Any, Protocol

import orjson

LEVELS = {"critical": 50, "error": 40, "warning": 30, "info": 20, "debug": 10}


def timestamp(seconds: float) -> str:
    """ISO 8601 in UTC with milliseconds, the format log shippers parse without configuration.
    Formatting a date costs more than the rest of a request's log line, and many requests share
    a millisecond: the last one formatted is kept."""
    global _last
    milliseconds = int(seconds * 1000)
    if _last[0] != milliseconds:
        whole, fraction = divmod(milliseconds, 1000)
        date = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
        _last = (milliseconds, f"{date}.{fraction:03d}Z")
    return _last[1]


_last = (-1, "")


class _Output(Protocol):
    def write(self, data: bytes, /) -> int: ...

    def flush(self) -> None: ...


def _output() -> _Output:
    # Looked up on every write, so a test that captures sys.stdout captures the logs too.
    stream = sys.stdout
    binary: _Output | None = getattr(stream, "buffer", None)
    if binary is None:  # a text-only stream: write through it (rare; tests' StringIO)
        return _TextAdapter(stream)
    stream.flush()  # anything written as text first keeps its place
    return binary


class _TextAdapter:
    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, data: bytes) -> int:
        return self._stream.write(data.decode("utf-8"))

    def flush(self) -> None:
        self._stream.flush()


def write_lines(data: bytes) -> None:
    output = _output()
    output.write(data)
    output.flush()


class JsonFormatter(logging.Formatter):
    """A `LogRecord` as one JSON line: ts, level, event, message, the record's `fields`, and the
    traceback (as `exception`) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": timestamp(record.created),
            "level": record.levelname.lower(),
            "event": getattr(record, "event", "log"),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if fields:
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return orjson.dumps(entry, default=str).decode()


class JsonHandler(logging.Handler):
    """Writes each formatted record as it comes (lifecycle events are rare and must not wait)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            write_lines(self.format(record).encode() + b"\n")
        except Exception:
            self.handleError(record)


def configure_logging(level: str) -> None:
    """JSON lines for every logger, at `level`; uvicorn's own access log stays off (ours replaces
    it) and its error logger's records come out as JSON like everything else."""
    handler = JsonHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(LEVELS[level])
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True


def event(
    logger: logging.Logger,
    name: str,
    message: str,
    level: int = logging.INFO,
    exc_info: BaseException | None = None,
    **fields: Any,
) -> None:
    """A lifecycle event: `name` becomes the line's `event`, `fields` its other keys."""
    logger.log(level, message, exc_info=exc_info, extra={"event": name, "fields": fields})
