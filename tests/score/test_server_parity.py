"""The command line answers what the server answers, row for row, on every shared file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from tests.score.conftest import SHARED_FILES, Score

MODELS = ("random_forest", "xgboost")


@pytest.fixture(scope="module")
def server(repository: Path) -> Iterator[TestClient]:
    settings = Settings(artifacts_path=repository, max_batch_rows=20_000, access_log=False)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize("name", [pytest.param(name, id=name) for name in SHARED_FILES])
def test_labels_and_probabilities_equal_the_servers(
    name: str, cicids_dir: Path, server: TestClient, score: Score, tmp_path: Path
) -> None:
    path = cicids_dir / name
    if not path.is_file():
        pytest.skip(f"{path} is not in the shared data")
    output = tmp_path / "verdicts.parquet"
    assert score(path, "-o", output, *[arg for m in MODELS for arg in ("--model", m)]).code == 0
    table = pq.read_table(output)
    for model in MODELS:
        response = server.post(
            f"/predict/batch?model_name={model}",
            content=path.read_bytes(),
            headers={"content-type": "text/csv"},
        )
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        assert table[f"{model}_prediction"].to_pylist() == [r["prediction"] for r in results]
        classes = list(results[0]["probabilities"])
        ours = np.column_stack(
            [table[f"{model}_probability_{label}"].to_numpy() for label in classes]
        )
        theirs = np.array([[r["probabilities"][c] for c in classes] for r in results])
        # The server writes float32 probabilities in their shortest form: equal as float32.
        np.testing.assert_array_equal(ours, theirs.astype(np.float32))
