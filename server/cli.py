"""`python -m server` / `ids-inference serve`: load the repository, then serve it with uvicorn."""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import os
import signal
import sys
from pathlib import Path

from server.errors import ArtifactError
from server.model import session_options
from server.repository import load_repository
from server.settings import Settings, SettingsError

PROG = "ids-inference serve"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Serve an ONNX model repository over HTTP (the existing API and the Open "
        "Inference Protocol). Flags override the environment (see the README's settings).",
    )
    parser.add_argument("--artifacts", type=Path, help="model repository (ARTIFACTS_PATH)")
    parser.add_argument("--host", help="interface to bind (IDS_HOST, default 0.0.0.0)")
    parser.add_argument("--port", type=int, help="port to bind (IDS_PORT, default 8000)")
    parser.add_argument("--threads", type=int, help="onnxruntime threads per model (IDS_THREADS)")
    parser.add_argument("--log-level", help="critical, error, warning, info or debug (LOG_LEVEL)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    overrides = {
        "IDS_ARTIFACTS_PATH": args.artifacts,
        "IDS_HOST": args.host,
        "IDS_PORT": args.port,
        "IDS_THREADS": args.threads,
        "IDS_LOG_LEVEL": args.log_level,
    }
    environ = dict(os.environ)
    environ.update({name: str(value) for name, value in overrides.items() if value is not None})
    try:
        settings = Settings.from_env(environ)
    except SettingsError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        registry = load_repository(
            settings.artifacts_path, session_options(settings.threads, settings.spinning)
        )
    except ArtifactError as error:
        print(f"{PROG}: cannot start: {error.message}", file=sys.stderr)
        return 1

    import uvicorn

    from server.app import create_app

    config = uvicorn.Config(
        functools.partial(create_app, settings, registry),
        factory=True,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,  # the operations issue adds a structured access log
        log_level=settings.log_level,
        server_header=False,
    )
    server = uvicorn.Server(config)
    # uvicorn shuts down gracefully on SIGINT and SIGTERM, then re-raises the signal it caught;
    # a requested stop is a success, so both end here with exit status 0.
    signal.signal(signal.SIGTERM, _stop)
    with contextlib.suppress(KeyboardInterrupt, _Stopped):
        server.run()
    return 0 if server.started else 1


class _Stopped(Exception):
    """SIGTERM arrived after uvicorn's own shutdown."""


def _stop(signum: int, frame: object) -> None:
    raise _Stopped
