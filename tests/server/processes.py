"""Test helpers: real server processes on free ports, their output in a file (a pipe nobody reads
would fill up and stall a server that logs every request), and an import tracer."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import PROJECT_ROOT

# Installed as `sitecustomize` (through PYTHONPATH), so it runs first in every Python process the
# server starts, the supervisor and each worker alike: an import tracer noting which module
# executes `import pickle` (and the other forbidden names), and an audit hook noting any
# unpickling (`pickle.find_class` fires for every class a pickle names). Reported at exit, one
# file per process.
TRACER = """
import atexit, builtins, json, os, sys
WATCHED = {"pickle", "_pickle", "joblib", "sklearn", "xgboost", "pandas"}
importers, unpickled = set(), []
real_import = builtins.__import__
def traced(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0 and name.partition(".")[0] in WATCHED:
        importers.add(((globals or {}).get("__name__", "?"), name))
    return real_import(name, globals, locals, fromlist, level)
builtins.__import__ = traced
def audit(event, args):
    if event == "pickle.find_class":
        unpickled.append(repr(args))
sys.addaudithook(audit)
def report():
    path = os.path.join(os.environ["IMPORT_REPORT_DIR"], f"{os.getpid()}.json")
    with open(path, "w") as out:
        json.dump({"argv": sys.argv, "modules": sorted(sys.modules),
                   "importers": sorted(importers), "unpickled": unpickled}, out)
atexit.register(report)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, how: int = signal.SIGINT, timeout: float = 60) -> tuple[int, str]:
        if self.process.poll() is None:
            self.process.send_signal(how)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.process.returncode, self.output()


def start(
    env: dict[str, str], log: Path, args: tuple[str, ...] = (), ready_seconds: float = 60
) -> Server:
    """`python -m server` on a free port, once its readiness route answers 200."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "server", "--host", "127.0.0.1", "--port", str(port), *args],
            cwd=PROJECT_ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + ready_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited early:\n{server.output()}")
        try:
            if httpx.get(server.url + "/v2/health/ready", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    server.stop(signal.SIGKILL)
    raise AssertionError(f"the server was not ready in {ready_seconds} s:\n{server.output()}")


def tracer_env(folder: Path) -> dict[str, str]:
    """The environment that installs TRACER in every process; reports land in `folder`."""
    (folder / "sitecustomize.py").write_text(TRACER)
    (folder / "reports").mkdir()
    return {"PYTHONPATH": str(folder), "IMPORT_REPORT_DIR": str(folder / "reports")}
