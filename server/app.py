"""The application factory: `create_app(settings)` builds the whole server, nothing global."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from server.errors import MethodNotAllowed, NotFound, ServerError
from server.model import session_options
from server.repository import Registry, load_repository
from server.responses import ORJSONResponse
from server.routes.docs import docs_routes
from server.routes.legacy import legacy_routes
from server.routes.v2 import v2_routes
from server.settings import Settings
from server.state import ServingState

logger = logging.getLogger("server")
_REQUEST_ID = re.compile(r"[\w.:-]{1,128}", re.ASCII)


def create_app(
    settings: Settings,
    registry: Registry | None = None,
    middleware: Sequence[Middleware] = (),
) -> Starlette:
    """Build the server. The repository at `settings.artifacts_path` is loaded when the app
    starts (its lifespan), unless an already loaded `registry` is given (the command line loads
    it first, to report a broken repository before binding the port). `middleware` takes pure
    ASGI middleware (request ids, access logs, metrics), outermost first."""
    state = ServingState(settings, registry)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if registry is None:
            state.registry = load_repository(
                settings.artifacts_path, session_options(settings.threads, settings.spinning)
            )
        for model in state.registry:
            logger.info(
                "serving %s version %s (%s, sha256 %s)",
                model.name,
                model.version,
                model.manifest.type,
                model.manifest.sha256,
            )
        state.ready = True
        yield
        state.ready = False

    app = Starlette(
        routes=[*legacy_routes(state), *v2_routes(state), *docs_routes()],
        middleware=list(middleware),
        exception_handlers={
            ServerError: _server_error,
            HTTPException: _http_error,
            ClientDisconnect: _client_disconnect,
            Exception: _unexpected_error,
        },
        lifespan=lifespan,
    )
    app.state.serving = state
    return app


def create_app_from_env() -> Starlette:
    """For `uvicorn --factory server.app:create_app_from_env`."""
    return create_app(Settings.from_env())


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


async def _unexpected_error(request: Request, error: Exception) -> Response:
    given = request.headers.get("x-request-id", "")
    request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    logger.error(
        "unexpected error (request id %s) on %s %s",
        request_id,
        request.method,
        request.scope["path"],
        exc_info=error,
    )
    return ORJSONResponse(
        {"error": "Internal server error", "request_id": request_id},
        status_code=500,
        headers={"x-request-id": request_id},
    )
