"""Counting traffic: keep-alive HTTP/1.1 connections sending requests in turn, every request
accounted for (when it was written, whether and how it was answered).

wrk measures throughput well but cannot say which request failed or when it was sent; the fault
scenarios need exactly that ("every request sent before SIGTERM was answered").
"""

from __future__ import annotations

import asyncio
import math
import socket
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from benchmarks.reliability.background import Background


class ProtocolError(Exception):
    """The server answered something that is not a complete HTTP/1.1 response."""


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", "Host: 127.0.0.1"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


@dataclass(slots=True)
class Outcome:
    """One request. Times are `time.monotonic()` seconds."""

    started: float
    sent: float | None = None  # the whole request was handed to the kernel
    finished: float | None = None  # the whole response was read
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    @property
    def latency_s(self) -> float | None:
        return None if self.finished is None else self.finished - self.started


@dataclass(frozen=True, slots=True)
class Tally:
    """What a set of outcomes adds up to."""

    sent: int
    answered: int
    statuses: Mapping[int, int]
    errors: Mapping[str, int]
    latency_p50_s: float
    latency_p99_s: float
    latency_max_s: float

    @property
    def lost(self) -> int:
        """Requests written whole that got no complete answer."""
        return self.sent - self.answered

    @property
    def non_2xx(self) -> int:
        return sum(count for status, count in self.statuses.items() if not 200 <= status < 300)

    def figures(self, prefix: str = "") -> dict[str, float]:
        """For the report: the counts, and latencies in milliseconds; keys start with `prefix`."""
        values = {
            "sent": self.sent,
            "lost": self.lost,
            "non_2xx": self.non_2xx,
            "p50_ms": self.latency_p50_s * 1000,
            "p99_ms": self.latency_p99_s * 1000,
            "max_ms": self.latency_max_s * 1000,
        }
        return {prefix + name: value for name, value in values.items()}


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def tally(outcomes: Sequence[Outcome]) -> Tally:
    sent = [o for o in outcomes if o.sent is not None]
    answered = [o for o in sent if o.status is not None]
    latencies = [o.latency_s for o in answered if o.latency_s is not None]
    errors = Counter((o.error or "").partition(":")[0] for o in sent if o.status is None)
    return Tally(
        sent=len(sent),
        answered=len(answered),
        statuses=dict(Counter(o.status for o in answered if o.status is not None)),
        errors=dict(errors),
        latency_p50_s=percentile(latencies, 50),
        latency_p99_s=percentile(latencies, 99),
        latency_max_s=max(latencies, default=math.nan),
    )


def _parse_head(head: bytes) -> tuple[int, dict[str, str], int]:
    """Status, headers (lower-case names) and Content-Length of a response head."""
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise ProtocolError(f"bad status line {status_line[:80]!r}")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    length = headers.get("content-length")
    if length is None or not length.isdigit():
        raise ProtocolError(f"no Content-Length in a {parts[1]} answer")
    return int(parts[1]), headers, int(length)


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """One response with a Content-Length body (every answer this server gives has one)."""
    status, headers, length = _parse_head((await reader.readuntil(b"\r\n\r\n"))[:-4])
    return status, headers, await reader.readexactly(length)


def receive_response(connection: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """`read_response` on a blocking socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            raise ProtocolError(f"the connection closed after {len(data)} bytes of an answer")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, headers, length = _parse_head(head)
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            raise ProtocolError("the connection closed in the middle of a body")
        body += chunk
    return status, headers, body


class Traffic(Background):
    """`connections` keep-alive connections to `port`, each sending `requests` in turn (each
    connection starting at its own offset) until stopped or, if given, `per_connection` each.
    `start()`, fault the server, then `stop()` returns every outcome."""

    def __init__(
        self,
        port: int,
        requests: Sequence[Request],
        connections: int,
        *,
        timeout_s: float = 30.0,
        per_connection: int | None = None,
    ) -> None:
        super().__init__("traffic")
        self.port = port
        self.payloads = [request.encode() for request in requests]
        self.connections = connections
        self.timeout_s = timeout_s
        self.per_connection = per_connection
        self.outcomes: list[Outcome] = []

    def start(self) -> Traffic:
        self.begin()
        return self

    def stop(self) -> list[Outcome]:
        """Stop sending; requests already written are read to their end (or their timeout)."""
        self.end(self.timeout_s + 5)
        return list(self.outcomes)

    def join(self) -> list[Outcome]:
        """Wait until every connection has sent its `per_connection` requests."""
        self.wait()
        return list(self.outcomes)

    async def work(self) -> None:
        await asyncio.gather(*(self._connection(index) for index in range(self.connections)))

    async def _connection(self, index: int) -> None:
        stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        count = 0
        while not self.stopping.is_set() and count != self.per_connection:
            payload = self.payloads[(index + count) % len(self.payloads)]
            count += 1
            outcome = Outcome(started=time.monotonic())
            self.outcomes.append(outcome)
            try:
                if stream is None:
                    stream = await asyncio.wait_for(
                        asyncio.open_connection("127.0.0.1", self.port), self.timeout_s
                    )
                reader, writer = stream
                writer.write(payload)
                await writer.drain()
                outcome.sent = time.monotonic()
                status, headers, _ = await asyncio.wait_for(read_response(reader), self.timeout_s)
                outcome.finished = time.monotonic()
                outcome.status, outcome.headers = status, headers
                if headers.get("connection", "").lower() == "close":
                    writer.close()
                    stream = None
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ProtocolError) as error:
                outcome.error = f"{type(error).__name__}: {error}"
                if stream is not None:
                    stream[1].close()
                stream = None
                if outcome.sent is None:
                    await asyncio.sleep(0.01)  # refused: do not spin while the server is away
        if stream is not None:
            stream[1].close()
