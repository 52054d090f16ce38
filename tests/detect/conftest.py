"""Fixtures of the detect tests: a model repository built here, the recordings of ../shared."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from tests.detect.port_model import write_port_model
from tests.server.artifact_builder import write_repository

DEFAULT_PCAPS = PROJECT_ROOT.parent / "shared" / "data" / "pcaps"


@pytest.fixture(scope="session")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`ports` (ATTACK below port 1024, else BENIGN) beside the server tests' random models
    (random_forest and decision_tree binary, xgboost multiclass)."""
    root = write_repository(tmp_path_factory.mktemp("artifacts"))
    return write_port_model(root)


@pytest.fixture(scope="session")
def recordings() -> Path:
    """Recorded captures with the reference's CSVs (`PCAPS_DIR`, else ../shared/data/pcaps)."""
    folder = Path(os.environ.get("PCAPS_DIR", DEFAULT_PCAPS))
    if not folder.is_dir() or not any(folder.glob("*.cicflowmeter.csv")):
        pytest.skip(
            f"recordings with CICFlowMeter's CSVs not found at {folder} (../shared/data/pcaps): "
            "set PCAPS_DIR to run this test"
        )
    return folder
