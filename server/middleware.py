"""Everything operations needs around a request, in one pure-ASGI middleware: the request id,
authentication, the body size limit, the concurrency limit, the request timeout, metrics, the
access log, the exception handlers and the answer to an unexpected error.

A request takes a concurrency slot once its body is in, when work on it starts: the middleware
reads the body (refusing it past the size limit, within the request timeout) and hands it to the
app as it came. Counting from the head instead let clients trickling bodies hold every slot while
sending nothing worth work, and the server refused everyone else until the timeout freed them.

One layer rather than a stack of them: each layer of ASGI middleware costs a call and a wrapped
`send` per request, and this one sits on the path of every single-row prediction. It also stands
in for Starlette's two error layers (see `server.app.ServerApp`): the exception handlers reach the
routes through the scope, as Starlette's `ExceptionMiddleware` passes them, and an exception that
escapes the router (its 404 and 405) is handled here.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import re
import time
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, ExceptionHandler, Message, Receive, Scope, Send

from server.auth import HEALTH, METRICS, BearerAuth
from server.errors import ServerError, ServiceUnavailable, Timeout, Unauthorized
from server.logs import event
from server.request_records import RUNS
from server.requests import receive_body
from server.routes.templated import TEMPLATE, UNMATCHED, TemplateFinder
from server.state import ServingState

logger = logging.getLogger("server")
# A client's X-Request-ID is kept when it is short and made of safe characters (it is echoed in
# a header and written to logs); otherwise the server makes its own.
_CLIENT_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
_QUIET = HEALTH | {METRICS}  # kept out of the access log and of the concurrency limit
_JSON = (b"content-type", b"application/json")
Refusal = tuple[ServerError, list[tuple[bytes, bytes]]]  # the error, and headers to send with it
_HANDLERS = "starlette.exception_handlers"  # where Starlette's routes look for the handlers
_current_task = asyncio.current_task


class Operations:
    def __init__(
        self,
        app: ASGIApp,
        state: ServingState,
        routes: list[BaseRoute],
        handlers: Mapping[Any, ExceptionHandler],
    ) -> None:
        self.app = app
        self.handlers = dict(handlers)
        self._scope_handlers: tuple[dict[Any, ExceptionHandler], dict[int, ExceptionHandler]] = (
            self.handlers,
            {},
        )
        self.state = state
        settings = state.settings
        self.auth = (
            BearerAuth(settings.auth_tokens, settings.metrics_require_auth)
            if settings.auth_tokens
            else None
        )
        self.limit = settings.max_concurrency
        self.max_body = settings.max_body_bytes
        self.in_flight = 0
        self.templates = TemplateFinder(routes)
        self._loop: asyncio.AbstractEventLoop | None = None  # known once the lifespan starts
        # Request ids: a random per-process prefix and a counter, unique across workers and
        # restarts, and several times cheaper than uuid4.
        self._prefix = os.urandom(4).hex().encode() + b"-"
        self._counter = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # the lifespan
            self._loop = asyncio.get_running_loop()
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id: bytes | None = None
        authorization: bytes | None = None
        declared: bytes | None = None  # the body's Content-Length
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                if _CLIENT_ID.fullmatch(value):
                    request_id = value
            elif name == b"authorization":
                authorization = value
            elif name == b"content-length":
                declared = value
        if request_id is None:
            request_id = b"%s%x" % (self._prefix, next(self._counter))
        path: str = scope["path"]
        if self.auth is not None and path not in self.auth.public:
            challenge = self.auth.check(authorization)
            if challenge is not None:
                error = Unauthorized("A valid bearer token is required (Authorization: Bearer)")
                refusal: Refusal = (error, [(b"www-authenticate", challenge)])
                await self._refuse(scope, send, refusal, request_id, start)
                return
        # Probes and scrapes neither count against the limit nor are refused by it.
        counted = path not in _QUIET
        if counted and self.limit and self.in_flight >= self.limit:
            # Refused at once rather than queued: a queue only adds latency to an overload. Full
            # now, before its body: refused without reading it.
            await self._refuse(scope, send, self._busy(), request_id, start)
            return

        state = self.state
        metrics = state.metrics
        values, slot = metrics.values, metrics.in_flight_slot
        deadlines = state.deadlines
        task = _current_task(self._loop) if deadlines.seconds else None
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message["headers"], (b"x-request-id", request_id)]
            await send(message)

        values[slot] += 1.0
        if task is not None:
            deadlines.start(task, start)  # the body's reading counts against the timeout too
        scope[_HANDLERS] = self._scope_handlers
        taken = False  # a concurrency slot
        try:
            if counted:
                receive = await self._read_body(scope, receive, declared)
                taken = not self.limit or self.in_flight < self.limit
                self.in_flight += taken
            if counted and not taken:  # the slots filled up while the body came in
                scope[TEMPLATE] = self.templates.find(scope)
                await _send_error(scope, send, *self._busy(), request_id)
                status = ServiceUnavailable.status_code
            else:
                await self.app(scope, receive, send_with_id)
        except asyncio.CancelledError:
            if task is None or task not in deadlines.expired:
                raise  # the server's shutdown, not our deadline
            deadlines.expired.discard(task)
            task.uncancel()
            if status == 0:
                seconds = deadlines.seconds
                late = Timeout(f"The request took longer than the {seconds:g} s timeout")
                await _send_error(scope, send, late, [], request_id)
            status = status or Timeout.status_code
        except Exception as error:
            handler = _handler_for(self.handlers, error)
            if handler is not None and status == 0:  # the router's 404 and 405
                response = await handler(Request(scope, receive), error)
                await response(scope, receive, send_with_id)
                status = status or 500
            else:
                status = await self._unexpected(scope, send, error, status, request_id)
        finally:
            if task is not None:
                deadlines.stop(task)
            self.in_flight -= taken
            values[slot] -= 1.0
        self._record(scope, status, start, request_id)

    def _busy(self) -> Refusal:
        busy = ServiceUnavailable(f"Busy: {self.limit} requests in progress; retry shortly")
        return busy, [(b"retry-after", b"1")]

    async def _read_body(self, scope: Scope, receive: Receive, declared: bytes | None) -> Receive:
        """Read the whole body (413 past the size limit); the app gets a `receive` that answers
        it in one message, then passes the client's messages on (a disconnect)."""
        try:
            body = await receive_body(receive, self.max_body, declared)
        except BaseException:  # too large, the client gone, the timeout: before routing
            scope[TEMPLATE] = self.templates.find(scope)
            raise
        pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

        async def replay() -> Message:
            if pending:
                return pending.pop()
            return await receive()

        return replay

    async def _unexpected(
        self, scope: Scope, send: Send, error: Exception, status: int, request_id: bytes
    ) -> int:
        """An exception no handler takes: logged once, with its traceback and the id the client
        received (nothing reaches uvicorn, which would log it a second time); a 500 unless the
        answer had begun."""
        event(
            logger,
            "unhandled_error",
            "unexpected error",
            logging.ERROR,
            request_id=request_id.decode("latin-1"),
            method=scope["method"],
            route=scope.get(TEMPLATE, UNMATCHED),
            exc_info=error,
        )
        if status == 0:
            body = {"error": "Internal server error", "request_id": request_id.decode()}
            await _send_json(send, 500, body, [], request_id)
        return status or 500

    async def _refuse(
        self, scope: Scope, send: Send, refusal: Refusal, request_id: bytes, start: float
    ) -> None:
        """Answer a request refused before routing (no token, too busy), and note it."""
        scope[TEMPLATE] = self.templates.find(scope)
        await _send_error(scope, send, *refusal, request_id)
        self._record(scope, refusal[0].status_code, start, request_id)

    def _record(self, scope: Scope, status: int, start: float, request_id: bytes) -> None:
        """Note the request for its metrics and access-log line (worked out in batches)."""
        self.state.records.add(
            (
                time.time(),
                time.perf_counter() - start,
                status,
                scope["method"],
                scope.get(TEMPLATE, UNMATCHED),
                scope.get(RUNS),
                request_id,
                scope["path"],
                scope.get("client"),
                scope.get("path_params"),
            )
        )


async def _send_error(
    scope: Scope,
    send: Send,
    error: ServerError,
    headers: list[tuple[bytes, bytes]],
    request_id: bytes,
) -> None:
    path: str = scope["path"]
    v2 = path == "/v2" or path.startswith("/v2/")
    await _send_json(send, error.status_for(v2), error.body(v2), headers, request_id)


def _handler_for(handlers: dict[Any, ExceptionHandler], error: Exception) -> Any:
    for kind in type(error).__mro__:
        if kind in handlers:
            return handlers[kind]
    return None


async def _send_json(
    send: Send,
    status: int,
    body: dict[str, Any],
    headers: list[tuple[bytes, bytes]],
    request_id: bytes,
) -> None:
    content = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                _JSON,
                (b"content-length", str(len(content)).encode()),
                (b"x-request-id", request_id),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})
