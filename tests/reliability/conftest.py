"""Fixtures for the reliability suite. Tests marked `reliability_full` (minutes of load, thousands
of generated cases) run only when asked for: `pytest -m reliability_full` or
`python -m benchmarks.reliability`, which also writes the report."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.processes import ServerProcess, serving
from benchmarks.reliability import figures
from tests.server.artifact_builder import write_repository

FULL = "reliability_full"
Record = Callable[..., None]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if FULL in (config.getoption("markexpr") or ""):
        return
    deselected = [item for item in items if item.get_closest_marker(FULL)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker(FULL)]


def profiles(fast: Any, full: Any) -> list[Any]:
    """A test's two sizes: `fast` in every run, `full` only in the full run. Tuples are the
    values of several parameters (a named tuple is one value)."""
    fast, full = (v if type(v) is tuple else (v,) for v in (fast, full))
    return [
        pytest.param(*fast, id="fast"),
        pytest.param(*full, id="full", marks=pytest.mark.reliability_full),
    ]


@pytest.fixture(scope="session")
def test_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Small contract-conforming models (the server tests' builder): three models, two versions."""
    return write_repository(tmp_path_factory.mktemp("reliability-artifacts"), versions=2)


@pytest.fixture
def repository(test_repository: Path, tmp_path: Path) -> Path:
    """A copy of the repository this test may change: the converted one the full run names in
    RELIABILITY_ARTIFACTS (real forests), else the small test models."""
    source = Path(os.environ.get(figures.ARTIFACTS_ENV) or test_repository)
    return Path(shutil.copytree(source, tmp_path / "artifacts"))


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start servers for this test (`start(env)` returns a ready one); all stopped at the end."""
    with_servers: list[Any] = []

    def start_server(env: dict[str, str], name: str = "server") -> ServerProcess:
        context = serving(env, tmp_path / f"{name}-{len(with_servers)}.log")
        with_servers.append(context)
        return context.__enter__()

    yield start_server
    for context in reversed(with_servers):
        context.__exit__(None, None, None)


@pytest.fixture
def record(request: pytest.FixtureRequest) -> Record:
    """`record(kind, **values)`: a figure for the report, tagged with this test's node id."""

    full = request.node.get_closest_marker(FULL) is not None

    def write(kind: str, **values: Any) -> None:
        figures.record(request.node.nodeid, kind, {"full": full, **values})

    return write
