"""Slow clients: sockets that send a request one byte at a time (headers, or a body whose
Content-Length promises more than has come), as a slowloris attack or a stalled uplink does."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass

from benchmarks.reliability.background import Background
from benchmarks.reliability.traffic import ProtocolError, Request, read_response


@dataclass(slots=True)
class Trickled:
    """One slow socket: how many bytes it got through and how the server treated it."""

    sent: int = 0
    status: int | None = None  # the server answered before the request was complete
    closed_by_server: bool = False


class Trickle(Background):
    """`sockets` connections, half trickling their headers and half their body (after whole
    headers), one byte per `interval_s` each, until stopped."""

    def __init__(self, port: int, request: Request, sockets: int, interval_s: float = 1.0) -> None:
        super().__init__("trickle")
        self.port = port
        self.payload = request.encode()
        self.header_end = self.payload.index(b"\r\n\r\n") + 4
        self.sockets = sockets
        self.interval_s = interval_s
        self.results = [Trickled() for _ in range(sockets)]
        self.connected = 0

    def start(self) -> Trickle:
        self.begin()
        return self

    def stop(self) -> list[Trickled]:
        self.end(10)
        return self.results

    def summary(self) -> dict[str, object]:
        """Counts, and what the server did with the head tricklers and the body tricklers."""
        fates: dict[str, Counter[str]] = {"heads": Counter(), "bodies": Counter()}
        for index, result in enumerate(self.results):
            fate = (
                f"answered {result.status}"
                if result.status is not None
                else "closed by the server"
                if result.closed_by_server
                else "still open"
            )
            fates["bodies" if index % 2 else "heads"][fate] += 1
        return {
            "sockets": self.sockets,
            "connected": self.connected,
            "bytes_sent": sum(r.sent for r in self.results),
            "closed_by_server": sum(r.closed_by_server for r in self.results),
            "heads": dict(fates["heads"]),
            "bodies": dict(fates["bodies"]),
        }

    async def work(self) -> None:
        await asyncio.gather(*(self._socket(index) for index in range(self.sockets)))

    async def _socket(self, index: int) -> None:
        result = self.results[index]
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.connected += 1
        # Body tricklers first send the whole head at once: only the body crawls.
        position = self.header_end if index % 2 else 0
        if position:
            writer.write(self.payload[:position])
            result.sent = position
        answer = asyncio.ensure_future(read_response(reader))
        try:
            while not self.stopping.is_set() and position < len(self.payload) - 1:
                # Never the last byte: the request stays incomplete for as long as the test runs.
                writer.write(self.payload[position : position + 1])
                await writer.drain()
                position += 1
                result.sent = position
                deadline = time.monotonic() + self.interval_s
                while not answer.done() and not self.stopping.is_set():
                    await asyncio.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
                    if time.monotonic() >= deadline:
                        break
                if answer.done():
                    break
        except OSError:
            result.closed_by_server = True
        if answer.done():
            try:
                result.status = answer.result()[0]
            except (OSError, asyncio.IncompleteReadError, ProtocolError):
                result.closed_by_server = True
        else:
            answer.cancel()
        writer.close()
