"""`IDS_WORKERS=N` done by a library supervisor instead of `server.supervisor`: uvicorn's own
`--workers` (its `Multiprocess` supervisor, children started with multiprocessing's spawn), or
gunicorn's arbiter with uvicorn workers (`uvicorn-worker`, children forked).

Each stands in for `server.supervisor.Supervisor` (same constructor, `run()` returns the exit
status), so `ids-inference serve` runs unchanged on top of it. Each worker is the same app
(`create_app` on the settings from the environment, the state folder shared for metrics and
load/unload calls) on uvicorn with our draining HTTP protocol; what the library does not give is
ours no longer: readiness before serving, our shutdown events, the exit status.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import uvicorn
from uvicorn.supervisors import Multiprocess
from uvicorn_worker import UvicornWorker

from server.logs import configure_logging
from server.settings import Settings

if TYPE_CHECKING:
    from starlette.applications import Starlette

# By name: the supervisor process never imports the app (as ours does not); workers load it.
DRAINING = "server.worker:DrainingProtocol"


def worker_app() -> Starlette:
    """The app each library-started worker serves (a factory: called in the worker)."""
    from server.app import create_app

    settings = Settings.from_env()
    configure_logging(settings.log_level)
    return create_app(settings)


class UvicornWorkers:
    """uvicorn's `--workers`: what `uvicorn.run(..., workers=N)` does."""

    def __init__(self, settings: Settings, environ: dict[str, str]) -> None:
        self.settings = settings
        self.environ = environ

    def run(self) -> int:
        os.environ.update(self.environ)  # spawned workers read their settings from it
        settings = self.settings
        config = uvicorn.Config(
            "benchmarks.libraries.supervisors:worker_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            loop="uvloop",
            http=DRAINING,
            lifespan="on",
            access_log=False,
            log_config=None,
            log_level=settings.log_level,
            server_header=False,
            timeout_keep_alive=int(settings.keep_alive_seconds),
            timeout_graceful_shutdown=int(settings.graceful_shutdown_seconds),
        )
        sock = config.bind_socket()
        Multiprocess(config, sockets=[sock]).run()
        return 0


class GunicornWorker(UvicornWorker):  # type: ignore[misc]
    """uvicorn-worker's worker, on uvloop and our draining protocol like ours."""

    CONFIG_KWARGS = {  # noqa: RUF012 (the library's own class attribute)
        "loop": "uvloop",
        "http": DRAINING,
        "lifespan": "on",
        "server_header": False,
        "access_log": False,
    }


class GunicornWorkers:
    """gunicorn's arbiter with uvicorn workers (`gunicorn -k uvicorn_worker.UvicornWorker`)."""

    def __init__(self, settings: Settings, environ: dict[str, str]) -> None:
        self.settings = settings
        self.environ = environ

    def run(self) -> int:
        from gunicorn.app.base import BaseApplication

        os.environ.update(self.environ)
        settings = self.settings
        json_logs = {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"json": {"()": "server.logs.JsonFormatter"}},
            "handlers": {"stdout": {"class": "server.logs.JsonHandler", "formatter": "json"}},
            "root": {"handlers": ["stdout"], "level": settings.log_level.upper()},
            "loggers": {
                "gunicorn.error": {"handlers": ["stdout"], "propagate": False},
                "gunicorn.access": {"handlers": [], "propagate": False},
            },
        }
        options = {
            "bind": f"{settings.host}:{settings.port}",
            "workers": settings.workers,
            "worker_class": "benchmarks.libraries.supervisors.GunicornWorker",
            "graceful_timeout": int(settings.graceful_shutdown_seconds),
            "keepalive": int(settings.keep_alive_seconds),
            "logconfig_dict": json_logs,
            "accesslog": None,
        }

        class Application(BaseApplication):  # type: ignore[misc]
            def load_config(self) -> None:
                for key, value in options.items():
                    self.cfg.set(key, value)

            def load(self) -> Starlette:
                return worker_app()

        Application().run()  # exits the process itself (SystemExit with the arbiter's status)
        return 0
