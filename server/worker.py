"""One server process: load the repository, then serve it with uvicorn until told to stop.

Graceful shutdown is uvicorn's, with four changes: readiness turns false the moment SIGTERM (or
SIGINT) arrives; the in-flight requests get `IDS_GRACEFUL_SHUTDOWN_SECONDS` to finish; an idle
keep-alive connection is drained rather than closed at once (`DrainingProtocol`); and a requested
stop ends with exit status 0 (uvicorn re-raises the signal after its shutdown, which would end the
process as killed by it).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from server.app import create_app
from server.errors import ArtifactError
from server.logs import event
from server.model import session_options_for
from server.repository import load_repository
from server.settings import Settings
from server.state import ServingState

logger = logging.getLogger("server")
PROG = "ids-inference serve"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


# How long a connection that is idle when shutdown begins stays open (see DrainingProtocol).
DRAIN_SECONDS = 1.0


class DrainingProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol, but a shutdown does not close an idle keep-alive connection at
    once: a request its client had already written (still in the socket buffer, unread by a busy
    event loop) would be reset unanswered. The connection stays open for DRAIN_SECONDS; a request
    arriving meanwhile is answered with `Connection: close`."""

    draining = False

    def shutdown(self) -> None:
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False  # busy: closes after its answer, as uvicorn does
            return
        self.draining = True
        self.loop.call_later(DRAIN_SECONDS, self._close_if_idle)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        if self.draining and self.cycle is not None:
            self.cycle.keep_alive = False

    def _close_if_idle(self) -> None:
        idle = self.cycle is None or self.cycle.response_complete
        if idle and not self.transport.is_closing():
            self.transport.close()


class GracefulServer(uvicorn.Server):
    def __init__(
        self,
        config: uvicorn.Config,
        state: ServingState,
        on_started: Callable[[], None] | None = None,
        parent: int | None = None,
    ) -> None:
        super().__init__(config)
        self.state = state
        self.on_started = on_started
        self.parent = parent  # the supervisor's pid: if it dies, this worker stops too

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # A signal handler: flags only (logging here could re-enter a write in progress).
        self.state.stopping = True
        self.state.ready = False
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        original = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)
        # Unlike uvicorn's, the signal is not raised again: the stop it asked for is done.

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.on_started is not None:
            self.on_started()

    async def on_tick(self, counter: int) -> bool:
        if self.parent is not None and counter % 10 == 0 and os.getppid() != self.parent:
            event(logger, "supervisor_lost", "the supervisor is gone; stopping", logging.ERROR)
            self.handle_exit(signal.SIGTERM, None)
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        event(
            logger,
            "shutdown_started",
            "not ready; no new connections; finishing the requests in progress",
            pid=os.getpid(),
            in_flight=len(self.server_state.tasks),
            grace_seconds=self.config.timeout_graceful_shutdown,
        )
        await super().shutdown(sockets)


def serve(
    settings: Settings,
    sockets: list[socket.socket] | None = None,
    on_started: Callable[[], None] | None = None,
    parent: int | None = None,
) -> int:
    """Serve in this process (on `sockets` when given, else on settings' host and port); the
    exit status."""
    try:
        registry = load_repository(settings.artifacts_path, *session_options_for(settings))
    except ArtifactError as error:
        print(f"{PROG}: cannot start: {error.message}", file=sys.stderr)
        return 1
    app = create_app(settings, registry)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http=DrainingProtocol,
        lifespan="on",
        access_log=False,  # the server writes its own, as JSON
        log_config=None,  # logging is configured already: JSON lines
        log_level=settings.log_level,
        server_header=False,
        timeout_keep_alive=settings.keep_alive_seconds,  # type: ignore[arg-type]
        timeout_graceful_shutdown=settings.graceful_shutdown_seconds,  # type: ignore[arg-type]
    )
    server = GracefulServer(config, app.state.serving, on_started, parent)
    server.run(sockets)
    return 0 if server.started else 1
