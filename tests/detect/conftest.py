"""Fixtures of the detect tests: a model repository built here (the recordings of ../shared
come from tests/conftest.py's `pcaps_dir`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.detect.port_model import write_port_model
from tests.server.artifact_builder import write_repository


@pytest.fixture(scope="session")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`ports` (ATTACK below port 1024, else BENIGN) beside the server tests' random models
    (random_forest and decision_tree binary, xgboost multiclass)."""
    root = write_repository(tmp_path_factory.mktemp("artifacts"))
    return write_port_model(root)
