"""`python -m server` / `ids-inference serve`: serve the repository in one process, or in
`IDS_WORKERS` processes under a supervisor."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path

from server.control import FILE as CONTROL_FILE
from server.logs import configure_logging, event
from server.metrics.store import remove_files
from server.settings import Settings, SettingsError, usable_cores

PROG = "ids-inference serve"
logger = logging.getLogger("server")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Serve an ONNX model repository over HTTP (the existing API and the Open "
        "Inference Protocol). Flags override the environment (see docs/serving.md#settings).",
    )
    parser.add_argument("--artifacts", type=Path, help="model repository (ARTIFACTS_PATH)")
    parser.add_argument("--host", help="interface to bind (IDS_HOST, default 0.0.0.0)")
    parser.add_argument("--port", type=int, help="port to bind (IDS_PORT, default 8000)")
    parser.add_argument("--workers", type=int, help="server processes (IDS_WORKERS, default 1)")
    parser.add_argument(
        "--threads", type=int, help="onnxruntime threads per session (IDS_INTRA_OP_THREADS)"
    )
    parser.add_argument("--log-level", help="critical, error, warning, info or debug (LOG_LEVEL)")
    # A worker started by the supervisor: the listening socket and the pipe to report on.
    for flag in ("--worker-socket-fd", "--worker-ready-fd", "--worker-number"):
        parser.add_argument(flag, type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    overrides = {
        "IDS_ARTIFACTS_PATH": args.artifacts,
        "IDS_HOST": args.host,
        "IDS_PORT": args.port,
        "IDS_WORKERS": args.workers,
        "IDS_INTRA_OP_THREADS": args.threads,
        "IDS_LOG_LEVEL": args.log_level,
    }
    environ = dict(os.environ)
    environ.update({name: str(value) for name, value in overrides.items() if value is not None})
    try:
        settings = Settings.from_env(environ)
    except SettingsError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if args.worker_socket_fd is not None:
        return _worker(settings, args.worker_socket_fd, args.worker_ready_fd)
    cores = usable_cores()
    threads = max(settings.intra_op_threads, settings.large_batch_threads())
    if settings.workers * threads > cores:
        event(
            logger,
            "oversubscribed",
            "workers x threads exceeds the cores; expect slower answers",
            logging.WARNING,
            workers=settings.workers,
            intra_op_threads=settings.intra_op_threads,
            batch_threads=settings.large_batch_threads(),
            cores=cores,
        )
    try:
        state_dir, owned = _state_dir(settings.state_dir)
    except OSError as error:
        where = str(settings.state_dir)
        print(f"{PROG}: IDS_STATE_DIR {where!r}: {error.strerror}", file=sys.stderr)
        return 2
    try:
        if settings.workers == 1:
            from server.worker import serve

            return serve(settings.with_overrides(state_dir=state_dir))
        from server.supervisor import Supervisor

        environ["IDS_STATE_DIR"] = str(state_dir)
        return Supervisor(settings.with_overrides(state_dir=state_dir), environ).run()
    finally:
        if owned:
            shutil.rmtree(state_dir, ignore_errors=True)


def _state_dir(given: Path | None) -> tuple[Path, bool]:
    """The folder the workers share (metrics, load/unload calls): a fresh temporary one, or the
    given one emptied of a previous run's files; and whether it is ours to delete at exit."""
    if given is None:
        return Path(tempfile.mkdtemp(prefix="ids-inference-")), True
    given.mkdir(parents=True, exist_ok=True)
    remove_files(given)
    (given / CONTROL_FILE).unlink(missing_ok=True)
    return given, False


def _worker(settings: Settings, socket_fd: int, ready_fd: int | None) -> int:
    from server.worker import serve

    def started() -> None:
        if ready_fd is not None:
            try:
                os.write(ready_fd, b"1")
                os.close(ready_fd)
            except OSError:  # the supervisor is gone; the parent check will stop this worker
                pass

    sock = socket.socket(fileno=socket_fd)
    return serve(settings, [sock], started, parent=os.getppid())
