"""A request takes a concurrency slot once its body is in: a body still coming holds none, and
the body size limit (413), the request timeout (504) and a client leaving mid-body still end it
with every counter back where it was. The app is driven in process, a body chunk at a time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.types import Message

from server.app import create_app
from server.middleware import Operations
from server.settings import Settings

ROW = [1.0] * 78
BODY = orjson.dumps({"features": ROW})
SLOW_BATCH = orjson.dumps([{"features": ROW, "model_name": "slow"}] * 1000)  # about a second
# Waits end when what they wait for happens; this bound only stops a hung test, however loaded
# the machine (a slow batch of about a second took over 10 s with 13 jobs on 2 cores).
HANG = 120


class Exchange:
    """One request whose body the test sends, chunk by chunk."""

    def __init__(self, app: Starlette, path: str, length: int) -> None:
        self.messages: asyncio.Queue[Message] = asyncio.Queue()
        self.sent: list[Message] = []
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % length)]
        scope = {"type": "http", "method": "POST", "path": path, "headers": headers,
                 "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1)}  # fmt: skip
        self.task = asyncio.create_task(app(scope, self.messages.get, self._send))

    async def _send(self, message: Message) -> None:
        self.sent.append(message)

    def body(self, chunk: bytes, more: bool) -> None:
        self.messages.put_nowait({"type": "http.request", "body": chunk, "more_body": more})

    def disconnect(self) -> None:
        self.messages.put_nowait({"type": "http.disconnect"})

    async def answer(self) -> tuple[int, dict[bytes, bytes], bytes]:
        await asyncio.wait_for(self.task, HANG)
        start, *bodies = self.sent
        return start["status"], dict(start["headers"]), b"".join(m["body"] for m in bodies)


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[Starlette]:
    app = create_app(settings.with_overrides(access_log=False))
    app.middleware_stack = app.build_middleware_stack()  # as the first request would
    async with app.router.lifespan_context(app):
        yield app


async def call(app: Starlette, path: str, body: bytes) -> int:
    exchange = Exchange(app, path, len(body))
    exchange.body(body, more=False)
    return (await exchange.answer())[0]


def counters(app: Starlette) -> tuple[int, float]:
    """Slots taken, and the in-flight gauge."""
    operations = app.middleware_stack
    assert isinstance(operations, Operations)
    metrics = app.state.serving.metrics
    return operations.in_flight, metrics.values[metrics.in_flight_slot]


async def until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + HANG
    while not condition():
        assert time.monotonic() < deadline, "never happened"
        await asyncio.sleep(0.01)


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


def test_a_body_still_coming_holds_no_slot(repository: Path) -> None:
    async def scenario() -> None:
        async with serving(Settings(artifacts_path=repository, max_concurrency=1)) as app:
            slow = [Exchange(app, "/predict", len(BODY)) for _ in range(3)]
            for exchange in slow:
                exchange.body(BODY[:10], more=True)
            await asyncio.sleep(0.05)
            assert await call(app, "/predict", BODY) == 200  # the only slot was free
            assert counters(app) == (0, 3.0)  # three in flight, none counted
            for exchange in slow:
                exchange.body(BODY[10:], more=False)
            assert [(await e.answer())[0] for e in slow] == [200] * 3
            assert counters(app) == (0, 0.0)

    run(scenario)


def test_slots_full_when_the_body_is_in_refuse_with_retry_after(slow_repository: Path) -> None:
    async def scenario() -> None:
        settings = Settings(artifacts_path=slow_repository, max_concurrency=1)
        async with serving(settings) as app:
            waiting = Exchange(app, "/predict", len(BODY))
            waiting.body(BODY[:10], more=True)
            busy = Exchange(app, "/predict/batch", len(SLOW_BATCH))
            busy.body(SLOW_BATCH, more=False)
            await until(lambda: counters(app)[0] == 1)
            waiting.body(BODY[10:], more=False)
            status, headers, body = await waiting.answer()
            assert (status, headers[b"retry-after"]) == (503, b"1")
            assert orjson.loads(body)["error"] == "Busy: 1 requests in progress; retry shortly"
            assert (await busy.answer())[0] == 200
            assert counters(app) == (0, 0.0)

    run(scenario)


def test_a_slow_body_past_the_size_limit_is_refused_as_it_crosses_it(repository: Path) -> None:
    async def scenario() -> None:
        settings = Settings(artifacts_path=repository, max_concurrency=1, max_body_bytes=2000)
        async with serving(settings) as app:
            exchange = Exchange(app, "/v2/models/xgboost/infer", 1900)  # a lying length
            for _ in range(5):
                exchange.body(b" " * 500, more=True)
            status, _, body = await exchange.answer()
            assert status == 413
            assert orjson.loads(body) == {"error": "Request body larger than 2000 bytes"}
            assert exchange.messages.qsize() == 0  # refused on the chunk crossing the limit
            declared = Exchange(app, "/predict", 10**9)  # refused before any body is read
            assert (await declared.answer())[0] == 413
            assert counters(app) == (0, 0.0)
            assert await call(app, "/predict", BODY) == 200

    run(scenario)


def test_a_body_trickling_past_the_request_timeout_is_answered_504(repository: Path) -> None:
    async def scenario() -> None:
        settings = Settings(
            artifacts_path=repository, max_concurrency=1, request_timeout_seconds=0.2
        )
        async with serving(settings) as app:
            exchange = Exchange(app, "/predict", len(BODY))
            exchange.body(BODY[:10], more=True)
            status, headers, body = await exchange.answer()
            assert status == 504
            assert orjson.loads(body)["error"] == "The request took longer than the 0.2 s timeout"
            assert b"x-request-id" in headers
            assert counters(app) == (0, 0.0)
            assert await call(app, "/predict", BODY) == 200

    run(scenario)


def test_a_client_leaving_mid_body_releases_everything(repository: Path) -> None:
    async def scenario() -> None:
        async with serving(Settings(artifacts_path=repository, max_concurrency=1)) as app:
            exchange = Exchange(app, "/predict", len(BODY))
            exchange.body(BODY[:10], more=True)
            exchange.disconnect()
            await asyncio.wait_for(exchange.task, HANG)
            assert counters(app) == (0, 0.0)
            assert await call(app, "/predict", BODY) == 200

    run(scenario)
