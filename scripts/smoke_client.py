#!/usr/bin/env python3
"""The HTTP and image-config half of `scripts/image-smoke` (standard library only).

    smoke_client.py config FIELD < inspect.json     print one field of `podman image inspect`
    smoke_client.py wait PORT PID TIMEOUT           wait until the server answers ready
    smoke_client.py check PORT [MODEL...]           /health, v2 health, a /predict per model

`config` prints list fields NUL-separated (for `mapfile -d ''`) and scalars as they are. `check`
fails unless /health lists exactly the given models, when some are given.
"""

from __future__ import annotations

import json
import math
import sys
import time
import urllib.error
import urllib.request
from typing import Any

FEATURE_COUNT = 78
# No proxy: a proxy set in the environment must not reroute loopback calls.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class SmokeError(Exception):
    """A check failed; the message says which and what was seen."""


def image_config(document: Any, field: str) -> list[str] | str:
    """One field of an image's runtime configuration, from `podman image inspect` output."""
    image = document[0] if isinstance(document, list) else document
    config = image.get("Config") or {}
    if field == "healthcheck":
        check = image.get("Healthcheck") or config.get("Healthcheck") or {}
        return list(check.get("Test") or [])
    if field == "command":
        return list(config.get("Entrypoint") or []) + list(config.get("Cmd") or [])
    if field == "env":
        return list(config.get("Env") or [])
    if field == "user":
        return str(config.get("User") or "")
    if field == "workdir":
        return str(config.get("WorkingDir") or "/")
    if field == "size":
        return str(image.get("Size", 0))
    raise SmokeError(f"unknown image config field {field!r}")


def request(port: int, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    call = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    if data is not None:
        call.add_header("Content-Type", "application/json")
    try:
        with OPENER.open(call, timeout=10) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


def running(pid: int) -> bool:
    """Whether `pid` still runs: an exited child stays in /proc as a zombie until reaped."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in {"Z", "X"}


def wait_ready(port: int, pid: int, timeout: float) -> float:
    """Seconds until /v2/health/ready answers 200; fails early if process `pid` exits."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if not running(pid):
            raise SmokeError(f"the server process (pid {pid}) exited before it was ready")
        try:
            status, _ = request(port, "GET", "/v2/health/ready")
        except (urllib.error.URLError, OSError):
            status = 0
        if status == 200:
            return time.monotonic() - start
        time.sleep(0.25)
    raise SmokeError(f"the server was not ready on port {port} after {timeout:.0f} s")


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise SmokeError(message)


def check_health(port: int, models: list[str]) -> list[str]:
    status, health = request(port, "GET", "/health")
    print(f"GET /health -> {status} {json.dumps(health)}")
    expect(status == 200, f"/health answered {status}, expected 200")
    expect(isinstance(health, dict), "/health did not answer a JSON object")
    expect(health.get("status") == "healthy", f"/health status is {health.get('status')!r}")
    available = [str(name) for name in health.get("available_models", [])]
    expect(health.get("models_loaded") == len(available) > 0, "/health lists no loaded model")
    if models:
        expect(sorted(available) == sorted(models), f"/health lists {available}, not {models}")
    for path in ("/v2/health/live", "/v2/health/ready"):
        status, _ = request(port, "GET", path)
        print(f"GET {path} -> {status}")
        expect(status == 200, f"{path} answered {status}, expected 200")
    return available


def check_predict(port: int, model: str) -> None:
    # A short, slow flow: every feature a plain finite number, as a flow extractor writes them.
    features = [float(index % 7) * 1.5 for index in range(FEATURE_COUNT)]
    body = {"features": features, "model_name": model}
    status, answer = request(port, "POST", "/predict", body)
    print(f"POST /predict model_name={model} -> {status} {json.dumps(answer)}")
    expect(status == 200, f"/predict for {model} answered {status}, expected 200")
    expect(isinstance(answer, dict), f"/predict for {model} did not answer a JSON object")
    probabilities = answer.get("probabilities")
    expect(isinstance(probabilities, dict) and bool(probabilities), "no probabilities")
    expect(answer.get("prediction") in probabilities, "prediction is not one of the classes")
    expect(answer.get("model_used") == model, f"model_used is {answer.get('model_used')!r}")
    total = sum(float(value) for value in probabilities.values())
    expect(math.isclose(total, 1.0, abs_tol=1e-4), f"probabilities sum to {total}")


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    command, args = argv[0], argv[1:]
    try:
        if command == "config":
            value = image_config(json.load(sys.stdin), args[0])
            sys.stdout.write(
                "".join(f"{item}\0" for item in value) if isinstance(value, list) else value
            )
        elif command == "wait":
            seconds = wait_ready(int(args[0]), int(args[1]), float(args[2]))
            print(f"ready after {seconds:.1f} s")
        elif command == "check":
            for model in check_health(int(args[0]), args[1:]):
                check_predict(int(args[0]), model)
        else:
            raise SmokeError(f"unknown command {command!r}")
    except SmokeError as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
