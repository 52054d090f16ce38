"""The application factory: `create_app(settings)` builds the whole server, nothing global."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp

from server.control import ControlFile
from server.errors import MethodNotAllowed, NotFound, ServerError
from server.logs import event
from server.metrics.recorder import Metrics
from server.middleware import Operations
from server.model import session_options_for
from server.reloading import Reloader
from server.repository import Registry, load_repository
from server.responses import ORJSONResponse
from server.routes.docs import docs_routes
from server.routes.legacy import legacy_routes
from server.routes.metrics import metrics_routes
from server.routes.repository import repository_routes
from server.routes.v2 import v2_routes
from server.settings import Settings
from server.state import ServingState

logger = logging.getLogger("server")


class ServerApp(Starlette):
    """Starlette whose only layer around the router is the server's own `Operations`
    middleware, in place of Starlette's `ServerErrorMiddleware` and `ExceptionMiddleware`: it
    answers unexpected errors itself (once, with the request id) and hands the exception handlers
    to the routes as `ExceptionMiddleware` does. Each of those layers wraps every request in
    closures and a `Request`; measured over HTTP, removing them pays for most of `Operations`."""

    def build_middleware_stack(self) -> ASGIApp:
        app: ASGIApp = self.router
        for cls, args, kwargs in reversed(self.user_middleware):
            app = cls(app, *args, **kwargs)
        return Operations(app, self.state.serving, self.router.routes, self.exception_handlers)


def create_app(
    settings: Settings,
    registry: Registry | None = None,
    middleware: Sequence[Middleware] = (),
) -> Starlette:
    """Build the server. The repository at `settings.artifacts_path` is loaded when the app
    starts (its lifespan), unless an already loaded `registry` is given (the command line loads
    it first, to report a broken repository before binding the port). `middleware` takes extra
    pure ASGI middleware, inside the server's own layer (request ids, auth, limits, metrics,
    access log), outermost first."""
    state = ServingState(settings, registry)
    options, batch_options = session_options_for(settings)
    reloader = Reloader(state, options, batch_options)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        directory, owned = settings.state_dir, None
        if directory is None:  # a server of its own (tests, uvicorn's factory)
            directory = owned = Path(tempfile.mkdtemp(prefix="ids-inference-"))
        state.metrics = Metrics(directory)
        state.records.start(asyncio.get_running_loop())
        if registry is None:
            state.registry = load_repository(settings.artifacts_path, options, batch_options)
        reloader.start(ControlFile(directory) if settings.workers > 1 else None)
        tasks = _background(state, reloader)
        event(
            logger,
            "startup",
            "serving",
            pid=os.getpid(),
            models={
                f"{model.name}/{model.version}": model.manifest.sha256
                for model in state.registry.every_version()
            },
            artifacts_path=str(settings.artifacts_path),
            auth=bool(settings.auth_tokens),
        )
        state.ready = True
        try:
            yield
        finally:
            state.ready = False
            await state.drain(settings.graceful_shutdown_seconds)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            event(logger, "shutdown", "stopped serving", pid=os.getpid())
            state.records.stop()
            state.metrics.close()
            state.metrics = Metrics(None)
            if owned is not None:
                shutil.rmtree(owned, ignore_errors=True)

    app = ServerApp(
        routes=[
            *legacy_routes(state),
            *v2_routes(state),
            *repository_routes(state, reloader),
            *metrics_routes(state),
            *docs_routes(state),
        ],
        middleware=list(middleware),
        exception_handlers={
            ServerError: _server_error,
            HTTPException: _http_error,
            ClientDisconnect: _client_disconnect,
        },
        lifespan=lifespan,
    )
    app.state.serving = state
    app.state.reloader = reloader
    return app


def create_app_from_env() -> Starlette:
    """For `uvicorn --factory server.app:create_app_from_env`."""
    return create_app(Settings.from_env())


def _background(state: ServingState, reloader: Reloader) -> list[asyncio.Task[None]]:
    """The process's periodic work: request deadlines, repository polling, other workers'
    load and unload calls."""
    settings = state.settings
    jobs: list[tuple[float, Callable[[], Awaitable[None]]]] = []
    if settings.poll_seconds > 0:
        jobs.append((settings.poll_seconds, reloader.poll))
    if settings.workers > 1:
        jobs.append((0.5, reloader.follow))
    tasks = [asyncio.create_task(_every(seconds, job)) for seconds, job in jobs]
    if state.deadlines.seconds:
        tasks.append(asyncio.create_task(state.deadlines.watch()))
    return tasks


async def _every(seconds: float, job: Callable[[], Awaitable[None]]) -> None:
    while True:
        await asyncio.sleep(seconds)
        started = time.monotonic()
        try:
            await job()
        except Exception as error:  # a failed pass must not end the next ones
            event(
                logger,
                "background_error",
                "a background pass failed",
                logging.ERROR,
                exc_info=error,
                job=getattr(job, "__name__", str(job)),
                seconds=round(time.monotonic() - started, 3),
            )


def _is_v2(request: Request) -> bool:
    path: str = request.scope["path"]
    return path == "/v2" or path.startswith("/v2/")


async def _server_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ServerError)
    v2 = _is_v2(request)
    return ORJSONResponse(error.body(v2), status_code=error.status_for(v2))


async def _http_error(request: Request, error: Exception) -> Response:
    # Starlette's router raises these for unknown paths (404) and methods (405).
    assert isinstance(error, HTTPException)
    mapped = MethodNotAllowed if error.status_code == 405 else NotFound
    v2 = _is_v2(request)
    body = mapped(error.detail).body(v2)
    return ORJSONResponse(body, status_code=error.status_code, headers=error.headers)


async def _client_disconnect(request: Request, error: Exception) -> Response:
    # The client left while sending its body: nobody will read an answer.
    return Response(status_code=400)
