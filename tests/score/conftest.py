"""Fixtures of the score tests: a small model repository and a runner for the command line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from score.cli import main
from tests.server.artifact_builder import write_repository

SHARED_FILES = (
    "thursday-webattacks-sample.csv",
    "thursday-webattacks-head-raw.csv",
    "friday-ddos-head-raw.csv",
    "friday-ddos-trafficlabelling.csv",
    "friday-portscan-trafficlabelling.csv",
    "thursday-xss-trafficlabelling.csv",
    "thursday-sqli-trafficlabelling.csv",
)


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


Score = Callable[..., Outcome]


@pytest.fixture(scope="session")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """random_forest and decision_tree (binary), xgboost (multiclass); versions 1 and 2."""
    return write_repository(tmp_path_factory.mktemp("artifacts"), versions=2)


@pytest.fixture
def score(repository: Path, capsys: pytest.CaptureFixture[str]) -> Score:
    """Run `ids-inference score ARGS --artifacts <repository> --jobs 1`, capturing its output."""

    def run(*args: str | Path) -> Outcome:
        argv = [str(arg) for arg in args]
        if "--artifacts" not in argv:
            argv += ["--artifacts", str(repository)]
        if "--jobs" not in argv:
            argv += ["--jobs", "1"]
        code = main(argv)
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return run
