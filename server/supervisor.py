"""`IDS_WORKERS=N`: N server processes accepting on one listening socket, and a small supervisor.

The supervisor binds the port once (a port in use fails here, before any worker starts) and
starts each worker as `python -m server` with the socket's file descriptor inherited: the kernel
hands each new connection to one of the workers blocked in `accept`. Each worker loads its own
sessions, with its own onnxruntime threads. Nothing crosses a process boundary as a pickle (the
workers are plain commands, not `multiprocessing` children), so no process of the server ever
unpickles anything.

- Start-up: the supervisor waits until every worker reports ready (a byte on a pipe); one that
  exits first stops the others and the supervisor exits with status 1.
- A worker that dies later is replaced (its metrics stay counted: see `server.metrics.store`).
  A slot whose replacement fails to become ready five times in a row stops the server (status 1).
- SIGTERM or SIGINT: the listening socket is closed, every worker gets SIGTERM and finishes its
  in-flight requests within the grace period; workers still running 10 s after it are killed.
  Exit status 0 when every worker stopped cleanly. Workers run in their own session, so a
  Ctrl-C at a terminal reaches them once, through the supervisor; a worker whose supervisor
  vanishes stops by itself.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from types import FrameType

from server.logs import event
from server.settings import Settings

logger = logging.getLogger("server")
MAX_FAILED_STARTS = 5
KILL_MARGIN_SECONDS = 10.0


@dataclass(slots=True)
class Worker:
    number: int
    process: subprocess.Popen[bytes]
    ready_fd: int | None  # the pipe's read end until the worker says it is ready
    failed_starts: int
    started: float


class Supervisor:
    def __init__(self, settings: Settings, environ: dict[str, str]) -> None:
        self.settings = settings
        self.environ = environ
        self.stop_signal: int | None = None
        self.workers: list[Worker] = []
        self.sock: socket.socket | None = None

    def run(self) -> int:
        try:
            self.sock = _listen(self.settings.host, self.settings.port)
        except OSError as error:
            print(
                f"ids-inference serve: cannot listen on {self.settings.host}:"
                f"{self.settings.port}: {error.strerror}",
                file=sys.stderr,
            )
            return 1
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        event(
            logger,
            "supervisor_started",
            f"starting {self.settings.workers} workers",
            pid=os.getpid(),
            workers=self.settings.workers,
            address=f"{self.settings.host}:{self.sock.getsockname()[1]}",
        )
        self.workers = [self._spawn(number, 0) for number in range(1, self.settings.workers + 1)]
        status = self._watch()
        stopped = self._stop()
        return status or stopped

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stop_signal = signum

    def _spawn(self, number: int, failed_starts: int) -> Worker:
        assert self.sock is not None
        read_fd, write_fd = os.pipe()
        fd = self.sock.fileno()
        command = [
            sys.executable,
            "-m",
            "server",
            "--worker-socket-fd",
            str(fd),
            "--worker-ready-fd",
            str(write_fd),
            "--worker-number",
            str(number),
        ]
        process = subprocess.Popen(
            command, env=self.environ, pass_fds=(fd, write_fd), start_new_session=True
        )
        os.close(write_fd)
        event(logger, "worker_started", f"worker {number} started", worker=number, pid=process.pid)
        return Worker(number, process, read_fd, failed_starts, time.monotonic())

    def _watch(self) -> int:
        """Until a stop signal: readiness, deaths, replacements. Non-zero: give up."""
        starting = True
        while self.stop_signal is None:
            pending = {worker.ready_fd: worker for worker in self.workers if worker.ready_fd}
            readable: list[int] = []
            try:
                readable, _, _ = select.select(list(pending), [], [], 0.2)
            except InterruptedError:  # a signal: loop round to look at it
                continue
            for fd in readable:
                # A byte: ready. End of file: the worker exited before it was ready (it closes
                # the pipe by dying), which the exit check below reports as a failed start.
                if os.read(fd, 1):
                    self._ready(pending[fd])
            if starting and all(worker.ready_fd is None for worker in self.workers):
                starting = False
                event(
                    logger,
                    "ready",
                    f"{len(self.workers)} workers ready",
                    pids=[worker.process.pid for worker in self.workers],
                )
            for index, worker in enumerate(self.workers):
                code = worker.process.poll()
                if code is None or self.stop_signal is not None:
                    continue
                never_ready = worker.ready_fd is not None
                self._close_ready(worker)
                event(
                    logger,
                    "worker_exited",
                    f"worker {worker.number} exited with {code}",
                    logging.ERROR,
                    worker=worker.number,
                    pid=worker.process.pid,
                    status=code,
                    before_ready=never_ready,
                )
                failed = worker.failed_starts + 1 if never_ready else 0
                if starting or failed >= MAX_FAILED_STARTS:
                    return 1
                time.sleep(min(30.0, 0.5 * 2**failed))  # back off a crash loop
                self.workers[index] = self._spawn(worker.number, failed)
        return 0

    def _ready(self, worker: Worker) -> None:
        self._close_ready(worker)
        worker.failed_starts = 0
        event(
            logger,
            "worker_ready",
            f"worker {worker.number} ready",
            worker=worker.number,
            pid=worker.process.pid,
        )

    @staticmethod
    def _close_ready(worker: Worker) -> None:
        if worker.ready_fd is not None:
            os.close(worker.ready_fd)
            worker.ready_fd = None

    def _stop(self) -> int:
        """Stop every worker gracefully; 0 when all of them exit cleanly."""
        event(
            logger,
            "supervisor_stopping",
            "stopping the workers",
            signal=signal.Signals(self.stop_signal).name if self.stop_signal else None,
        )
        if self.sock is not None:
            self.sock.close()  # no connection waits in a backlog nobody will accept from
        for worker in self.workers:
            self._close_ready(worker)
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.settings.graceful_shutdown_seconds + KILL_MARGIN_SECONDS
        status = 0
        for worker in self.workers:
            try:
                code = worker.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.process.kill()
                code = worker.process.wait()
            if code != 0:
                status = 1
        event(logger, "supervisor_stopped", "all workers stopped", status=status)
        return status


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock
