"""Servers under test as child processes: free ports, CPU pinning, readiness, signals, memory
from /proc."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from signal import SIGTERM

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class ServiceError(RuntimeError):
    """A server under test did not start, or answered something unexpected."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes


def http(
    url: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout_s: float = 60.0,
) -> Answer:
    """One request with the standard library (no client dependency); HTTP errors are answers."""
    request = urllib.request.Request(url, data=body, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return Answer(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, dict(error.headers), error.read())


def _memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise ServiceError(f"/proc/{pid}/status has no {field}")


def rss_bytes(pid: int) -> int:
    """Resident set size now (VmRSS)."""
    return _memory_kib(pid, "VmRSS") * 1024


def peak_rss_bytes(pid: int) -> int:
    """Highest resident set size so far (VmHWM)."""
    return _memory_kib(pid, "VmHWM") * 1024


@dataclass(frozen=True)
class ServiceSpec:
    """How to start one server: its command, environment, the port it listens on, ready route."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    port: int
    ready_path: str


@dataclass(frozen=True)
class Running:
    name: str
    pid: int
    base_url: str
    ready_s: float


def _pin(cpu: int | None) -> None:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})


class ServerProcess:
    """A server as a child process listening on `port` of 127.0.0.1.

    Its output (stdout and stderr together) goes to `log_file`: a pipe nobody reads would fill
    up and stall a server that logs every request, and the file lets a test read every line.
    The one helper that tests, benchmarks and the reliability suite start servers with.
    """

    def __init__(
        self,
        argv: Sequence[str],
        log_file: Path,
        *,
        port: int,
        env: Mapping[str, str] | None = None,
        ready_path: str = "/v2/health/ready",
        cpu: int | None = None,
    ) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_file = log_file
        self.ready_path = ready_path
        with log_file.open("wb") as log:
            self.started_at = time.perf_counter()
            self.process = subprocess.Popen(
                list(argv),
                cwd=PROJECT_ROOT,
                env={**os.environ, **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                # the child and every thread it makes stay on `cpu`
                preexec_fn=None if cpu is None else lambda: _pin(cpu),
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, timeout_s: float = 60.0) -> float:
        """Wait for the first 200 from the ready route; returns the seconds since the spawn
        (interpreter start, imports, model loading, binding the socket, as an operator sees it)."""
        url = self.url + self.ready_path
        while time.perf_counter() - self.started_at < timeout_s:
            if self.process.poll() is not None:
                raise ServiceError(
                    f"{url} exited with {self.process.returncode} before ready:\n{self.tail()}"
                )
            try:
                if http(url, timeout_s=1.0).status == 200:
                    return time.perf_counter() - self.started_at
            except OSError:
                pass
            time.sleep(0.002)
        raise ServiceError(f"{url} not ready after {timeout_s:.0f} s:\n{self.tail()}")

    def output(self) -> str:
        return self.log_file.read_text(errors="replace")

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def rss(self) -> int:
        return rss_bytes(self.pid)

    def signal(self, number: int = SIGTERM) -> float:
        """Send a signal; returns the monotonic time just before it was sent."""
        sent_at = time.monotonic()
        self.process.send_signal(number)
        return sent_at

    def wait_exit(self, timeout_s: float = 60.0) -> int:
        return self.process.wait(timeout=timeout_s)

    def stop(self, how: int = SIGTERM, timeout_s: float = 30.0) -> tuple[int, str]:
        """Signal the server (unless it has ended), SIGKILL it after `timeout_s`; returns its
        exit status and output."""
        if self.process.poll() is None:
            self.process.send_signal(how)
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.process.returncode, self.output()


def python_server(
    env: Mapping[str, str], log_file: Path, args: Sequence[str] = ()
) -> ServerProcess:
    """`python -m server` with `env` on top of this environment, on a free loopback port; not
    yet ready. Only the address is forced (a log level of our own would override the caller's)."""
    port = free_port()
    address = {"IDS_HOST": "127.0.0.1", "IDS_PORT": str(port)}
    argv = [sys.executable, "-m", "server", *args]
    return ServerProcess(argv, log_file, port=port, env={**env, **address})


@contextmanager
def serving(
    env: Mapping[str, str], log_file: Path, args: Sequence[str] = (), timeout_s: float = 60.0
) -> Iterator[ServerProcess]:
    """A ready `python -m server`; stopped (SIGTERM, then SIGKILL after 30 s) on the way out."""
    server = python_server(env, log_file, args)
    try:
        server.wait_ready(timeout_s)
        yield server
    finally:
        server.stop()


@contextmanager
def started(
    spec: ServiceSpec,
    log_file: Path,
    *,
    cpu: int | None = None,
    timeout_s: float = 120.0,
) -> Iterator[Running]:
    """Start the server, wait until its ready route answers 200, stop it on the way out."""
    server = ServerProcess(
        spec.argv, log_file, port=spec.port, env=spec.env, ready_path=spec.ready_path, cpu=cpu
    )
    try:
        ready_s = server.wait_ready(timeout_s)
        yield Running(spec.name, server.pid, server.url, ready_s)
    finally:
        server.stop(timeout_s=10)
