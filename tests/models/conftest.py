"""Fixtures of the training room's tests: small pickle sets trained once per session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from models.synthetic import generate_flows
from models.train import train_pickle_set

# Small enough to train in about a second, large enough that every class reaches the test split.
TINY_ROWS = 1_500
TINY_TREES = 5


def _train(folder: Path, task: str) -> dict[str, Any]:
    flows = generate_flows(TINY_ROWS, seed=7)
    return train_pickle_set(flows, folder, task=task, n_estimators=TINY_TREES, n_jobs=1)


@pytest.fixture(scope="session")
def binary_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A binary pickle set from synthetic flows, and its report."""
    folder = tmp_path_factory.mktemp("binary-set")
    return folder, _train(folder, "binary")


@pytest.fixture(scope="session")
def multiclass_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A multiclass pickle set from synthetic flows, and its report."""
    folder = tmp_path_factory.mktemp("multiclass-set")
    return folder, _train(folder, "multiclass")
