"""The parts off the request path: what they cost once (settings read at start-up, the OpenAPI
document built at start-up and on every load/unload), and what each library adds to a server
process by being imported (resident memory and import time, over `server.app` already loaded)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.libraries.in_process import Comparison, alternate

# The module a server process imports for each variant.
MODULES = {
    "prometheus_client": "prometheus_client.multiprocess",
    "python_json_logger": "pythonjsonlogger.orjson",
    "uvicorn_workers": "uvicorn.supervisors.multiprocess",
    "gunicorn": "uvicorn_worker",
    "starlette_config": "starlette.config",
    "pydantic_settings": "pydantic_settings",
    "apispec": "apispec",
}
_IMPORT = """
import json, time, resource
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
import server.app, server.worker
before = rss(); start = time.perf_counter()
import {module}
print(json.dumps({{"ms": (time.perf_counter() - start) * 1000, "mb": rss() - before}}))
"""


def import_cost(module: str, repeats: int = 5) -> dict[str, float]:
    """Median resident MB and milliseconds that importing `module` adds to a server process."""
    runs: list[dict[str, float]] = []
    for _ in range(repeats):
        done = subprocess.run(
            [sys.executable, "-c", _IMPORT.format(module=module)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "IDS_LIBRARY_VARIANT": ""},
        )
        runs.append(json.loads(done.stdout))
    return {
        "import_ms": statistics.median(run["ms"] for run in runs),
        "rss_mb": statistics.median(run["mb"] for run in runs),
    }


def settings_read(reader: Any, rounds: int = 10) -> Comparison:
    """One `Settings.from_env` of the environment a container sets, ours and the library's."""
    from server.settings import Settings

    environ = {
        **os.environ,
        "IDS_ARTIFACTS_PATH": "/srv/artifacts",
        "IDS_PORT": "8000",
        "IDS_WORKERS": "2",
        "IDS_LOG_LEVEL": "info",
        "IDS_MAX_CONCURRENCY": "128",
        "IDS_REQUEST_TIMEOUT_SECONDS": "30",
        "IDS_AUTH_TOKENS": "one-token,two-token",
    }
    assert reader(environ) == Settings.from_env(environ)  # the same settings, or no comparison
    ours, library = alternate(
        lambda: Settings.from_env(environ), lambda: reader(environ), 200, rounds
    )
    return Comparison("settings: one read of the environment", ours, library)


def openapi_build(artifacts: Path, rounds: int = 10) -> Comparison:
    """One build of the whole document for the served repository, ours and apispec's."""
    from benchmarks.libraries.openapi_apispec import apispec_document
    from server.model import session_options
    from server.openapi import openapi_document
    from server.repository import load_repository
    from server.settings import Settings

    registry = load_repository(artifacts, session_options(1, False))
    settings = Settings(artifacts_path=artifacts)
    assert openapi_document(registry, settings) == apispec_document(registry, settings)
    ours, library = alternate(
        lambda: openapi_document(registry, settings),
        lambda: apispec_document(registry, settings),
        20,
        rounds,
    )
    return Comparison("OpenAPI: one build of the document", ours, library)
