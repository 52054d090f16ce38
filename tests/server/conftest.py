"""Fixtures for the server tests: a repository of small contract-conforming models."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from tests.server.artifact_builder import write_artifact, write_repository

Rows = np.ndarray[Any, np.dtype[np.float64]]


@pytest.fixture(scope="session")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """random_forest and decision_tree (binary), xgboost (multiclass); versions 1 and 2."""
    return write_repository(tmp_path_factory.mktemp("artifacts"), versions=2)


@pytest.fixture(scope="session")
def settings(repository: Path) -> Settings:
    return Settings(artifacts_path=repository, max_batch_rows=1000, offload_rows=64)


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def reference(repository: Path) -> Callable[[str, Rows], tuple[list[str], np.ndarray[Any, Any]]]:
    """The ONNX session's own answer for rows: (labels, float32 probabilities), from the latest
    version's file opened directly with onnxruntime."""
    sessions: dict[str, ort.InferenceSession] = {}

    def run(name: str, rows: Rows) -> tuple[list[str], np.ndarray[Any, Any]]:
        if name not in sessions:
            path = str(repository / name / "2" / "model.onnx")
            sessions[name] = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        labels, probabilities = sessions[name].run(
            ["label", "probabilities"], {"features": np.asarray(rows, dtype=np.float64)}
        )
        return labels.tolist(), probabilities

    return run


@pytest.fixture(scope="session")
def flows() -> Rows:
    """Twenty rows shaped like flows: heavy-tailed magnitudes, with infinities and NaN."""
    rng = np.random.default_rng(7)
    rows = rng.lognormal(4, 4, size=(20, 78)).round(3)
    rows[0, 14] = np.inf
    rows[1, 15] = np.nan
    rows[2, 1] = -1
    return rows


@pytest.fixture(scope="session")
def slow_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """random_forest (fast), `slow`, whose every row costs about a millisecond, and `fragile`,
    which fails at run time on anything but two rows."""
    root = tmp_path_factory.mktemp("slow_artifacts")
    write_artifact(root, "random_forest", 1)
    write_artifact(root, "slow", 1, slow=128)
    write_artifact(root, "fragile", 1, fragile=True)
    return root
