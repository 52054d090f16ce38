"""`python -m server` as a child process on a free port: its log, its memory, how it ended."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from benchmarks.processes import ServiceError, free_port, http, rss_bytes

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class ServerProcess:
    """One server started with `env` on top of this process's environment; its output (stdout
    and stderr together) goes to `log_file`, so the tests can read every line it logged."""

    def __init__(self, env: Mapping[str, str], log_file: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_file = log_file
        environment = {**os.environ, **env, "IDS_HOST": "127.0.0.1", "IDS_PORT": str(self.port)}
        # A log level of our own would override the test's: only the address is forced.
        with log_file.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "server"],
                cwd=PROJECT_ROOT,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServiceError(
                    f"the server exited with {self.process.returncode}:\n{self.log()}"
                )
            try:
                if http(self.url + "/v2/health/ready", timeout_s=1.0).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise ServiceError(f"the server was not ready in {timeout_s:.0f} s:\n{self.log()}")

    def rss(self) -> int:
        return rss_bytes(self.pid)

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def signal(self, number: int = signal.SIGTERM) -> float:
        """Send a signal; returns the monotonic time just before it was sent."""
        sent_at = time.monotonic()
        self.process.send_signal(number)
        return sent_at

    def wait_exit(self, timeout_s: float = 60.0) -> int:
        return self.process.wait(timeout=timeout_s)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@contextmanager
def serving(env: Mapping[str, str], log_file: Path) -> Iterator[ServerProcess]:
    """A ready server; stopped (SIGTERM, then SIGKILL after 30 s) on the way out."""
    server = ServerProcess(env, log_file)
    try:
        server.wait_ready()
        yield server
    finally:
        if server.process.poll() is None:
            server.signal(signal.SIGTERM)
            try:
                server.wait_exit(30)
            except subprocess.TimeoutExpired:
                server.kill()
