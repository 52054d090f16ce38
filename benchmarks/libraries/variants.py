"""The library variants by name, and how one is switched in: `IDS_LIBRARY_VARIANT=name` in the
environment of a Python process that has `activated()`'s hook installed replaces our part with
the library's in every `server` module that holds it, before anything runs. Server processes
started by that process (workers, test servers) inherit the variable and are switched too.
"""

from __future__ import annotations

import os
import site
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VARIABLE = "IDS_LIBRARY_VARIANT"
HOOK = "zz_ids_library_variant.pth"  # after the editable install's own .pth: the project imports


@dataclass(frozen=True)
class Variant:
    part: str  # which of our parts it replaces
    library: str  # the distribution, for its version
    summary: str
    switch: Callable[[], None]
    tests: tuple[str, ...]  # our tests that state the part's requirements


def _server_modules() -> list[Any]:
    import server.app
    import server.cli
    import server.metrics.recorder
    import server.middleware
    import server.reloading
    import server.routes.docs
    import server.state
    import server.supervisor
    import server.worker  # noqa: F401 (imported so that its names are switched too)

    return [module for name, module in sys.modules.items() if name.split(".")[0] == "server"]


def _replace(original: object, replacement: object) -> None:
    for module in _server_modules():
        for name, value in list(vars(module).items()):
            if value is original:
                setattr(module, name, replacement)


def _prometheus() -> None:
    import server.metrics.recorder
    import server.supervisor
    from benchmarks.libraries.prometheus_metrics import LibrarySupervisor, PrometheusMetrics

    _replace(server.metrics.recorder.Metrics, PrometheusMetrics)
    _replace(server.supervisor.Supervisor, LibrarySupervisor)


def _json_logger() -> None:
    import server.logs
    import server.request_records
    from benchmarks.libraries import json_logging

    _replace(server.logs.event, json_logging.event)
    _replace(server.logs.configure_logging, json_logging.configure_logging)
    _replace(server.logs.JsonFormatter, json_logging.LifecycleFormatter)
    _replace(server.request_records.RequestRecords, json_logging.LibraryRecords)


# The supervisors are switched where `server.cli` looks them up, without importing the app: the
# supervisor process stays as small as the library's own would be.
def _uvicorn_workers() -> None:
    import server.supervisor
    from benchmarks.libraries.supervisors import UvicornWorkers

    server.supervisor.Supervisor = UvicornWorkers  # type: ignore[assignment,misc]


def _gunicorn() -> None:
    import server.supervisor
    from benchmarks.libraries.supervisors import GunicornWorkers

    server.supervisor.Supervisor = GunicornWorkers  # type: ignore[assignment,misc]


def _settings(reader: Callable[..., Any]) -> Callable[[], None]:
    def switch() -> None:
        from server.settings import Settings

        type.__setattr__(
            Settings, "from_env", classmethod(lambda cls, environ=None: reader(environ))
        )

    return switch


def _starlette_config() -> None:
    from benchmarks.libraries.settings_variants import starlette_from_env

    _settings(starlette_from_env)()


def _pydantic_settings() -> None:
    from benchmarks.libraries.settings_variants import pydantic_from_env

    _settings(pydantic_from_env)()


def _apispec() -> None:
    import server.openapi
    from benchmarks.libraries.openapi_apispec import apispec_document

    _replace(server.openapi.openapi_document, apispec_document)


VARIANTS = {
    "prometheus_client": Variant(
        "metrics store and exposition", "prometheus-client",
        "multiprocess mode: mmap value files per process, MultiProcessCollector per scrape",
        _prometheus,
        ("tests/server/test_metrics.py", "tests/server/test_workers.py",
         "tests/server/test_reload.py", "tests/server/test_live_server.py"),
    ),
    "python_json_logger": Variant(
        "JSON logging", "python-json-logger",
        "OrjsonFormatter on logging.StreamHandler, a LogRecord per access-log line",
        _json_logger,
        ("tests/server/test_logs.py", "tests/server/test_internal_errors.py",
         "tests/server/test_workers.py", "tests/server/test_live_server.py"),
    ),
    "uvicorn_workers": Variant(
        "worker supervisor", "uvicorn",
        "uvicorn's Multiprocess supervisor (uvicorn --workers), spawned children",
        _uvicorn_workers,
        ("tests/server/test_workers.py",),
    ),
    "gunicorn": Variant(
        "worker supervisor", "gunicorn",
        "gunicorn's arbiter with uvicorn-worker's UvicornWorker, forked children",
        _gunicorn,
        ("tests/server/test_workers.py",),
    ),
    "starlette_config": Variant(
        "settings parsing", "starlette",
        "starlette.config.Config(environ)(name, cast=...) per variable",
        _starlette_config,
        ("tests/server/test_settings.py", "tests/test_cli.py"),
    ),
    "pydantic_settings": Variant(
        "settings parsing", "pydantic-settings",
        "a BaseSettings model (env prefix IDS_, aliases, constraints) copied into Settings",
        _pydantic_settings,
        ("tests/server/test_settings.py", "tests/test_cli.py"),
    ),
    "apispec": Variant(
        "OpenAPI document", "apispec",
        "APISpec components and paths from our schemas and operations, to_dict()",
        _apispec,
        ("tests/server/test_openapi.py", "tests/server/test_openapi_contract.py",
         "tests/reliability/test_generated_requests.py"),
    ),
}  # fmt: skip


def activate() -> None:
    """Switch in the variant named by IDS_LIBRARY_VARIANT, if any (run by the hook)."""
    name = os.environ.get(VARIABLE)
    if not name:
        return
    if name not in VARIANTS:
        raise SystemExit(f"{VARIABLE}={name!r}: not one of {', '.join(VARIANTS)}")
    VARIANTS[name].switch()


@contextmanager
def activated() -> Iterator[Path]:
    """Install the hook (a .pth file in this environment's site-packages, which every Python
    process of the environment runs at start) for the duration; removed on the way out."""
    folder = Path(site.getsitepackages()[0])
    hook = folder / HOOK
    hook.write_text(
        "import os; os.environ.get('IDS_LIBRARY_VARIANT') and "
        "__import__('benchmarks.libraries.variants', fromlist=['activate']).activate()\n"
    )
    try:
        yield hook
    finally:
        hook.unlink(missing_ok=True)
