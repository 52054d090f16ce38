"""Servers under test as child processes: free ports, CPU pinning, readiness, memory from /proc."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


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


def _tail(log_file: Path, lines: int = 20) -> str:
    return "\n".join(log_file.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def started(
    spec: ServiceSpec,
    log_file: Path,
    *,
    cpu: int | None = None,
    timeout_s: float = 120.0,
) -> Iterator[Running]:
    """Start the server, wait until its ready route answers 200, stop it on the way out.

    `ready_s` runs from just before the process is spawned to the first 200: interpreter start,
    imports, model loading and binding the socket, as an operator would see it.
    """
    base_url = f"http://127.0.0.1:{spec.port}"
    with log_file.open("wb") as log:
        start = time.perf_counter()
        process = subprocess.Popen(
            list(spec.argv),
            env={**os.environ, **spec.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: _pin(cpu),  # the child and every thread it makes stay on `cpu`
        )
        try:
            ready_s = _wait_ready(process, base_url + spec.ready_path, start, timeout_s, log_file)
            yield Running(spec.name, process.pid, base_url, ready_s)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(
    process: subprocess.Popen[bytes], url: str, start: float, timeout_s: float, log_file: Path
) -> float:
    while time.perf_counter() - start < timeout_s:
        if process.poll() is not None:
            raise ServiceError(
                f"{url} exited with {process.returncode} before ready:\n{_tail(log_file)}"
            )
        try:
            if http(url, timeout_s=1.0).status == 200:
                return time.perf_counter() - start
        except OSError:
            pass
        time.sleep(0.002)
    raise ServiceError(f"{url} not ready after {timeout_s:.0f} s:\n{_tail(log_file)}")
