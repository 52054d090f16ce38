"""Every version in the repository is served; a request may pin one; every answer names it."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import onnxruntime as ort
import pytest
from starlette.testclient import TestClient

from tests.server.conftest import Rows
from tests.server.test_legacy_api import flow_csv


@pytest.fixture(scope="module")
def session_of(repository: Path) -> Callable[[str, str, Rows], list[str]]:
    def labels(name: str, version: str, rows: Rows) -> list[str]:
        path = str(repository / name / version / "model.onnx")
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        found: list[str] = session.run(["label"], {"features": rows})[0].tolist()
        return found

    return labels


@pytest.mark.parametrize(
    ("pinned", "expected"),
    [
        pytest.param({}, "2", id="latest when absent"),
        pytest.param({"model_version": None}, "2", id="null is the latest"),
        pytest.param({"model_version": "1"}, "1", id="as a string"),
        pytest.param({"model_version": 1}, "1", id="as an integer"),
    ],
)
def test_predict_pins_a_version(
    client: TestClient,
    flows: Rows,
    session_of: Callable[[str, str, Rows], list[str]],
    pinned: dict[str, Any],
    expected: str,
) -> None:
    body = {"features": flows[6].tolist(), "model_name": "xgboost", **pinned}
    answer = client.post("/predict", json=body).json()
    assert answer["model_version"] == expected
    assert answer["prediction"] == session_of("xgboost", expected, flows[6:7])[0]


def test_batch_pins_per_item_and_runs_each_version_once(
    client: TestClient, flows: Rows, session_of: Callable[[str, str, Rows], list[str]]
) -> None:
    versions = ["1", "2", None, "1"] * 4
    body = [
        {"features": row.tolist(), "model_name": "random_forest", "model_version": version}
        for row, version in zip(flows[4:20], versions, strict=True)
    ]
    results = client.post("/predict/batch", json=body).json()["results"]
    for version in ("1", "2"):
        picked = [i for i, v in enumerate(versions) if (v or "2") == version]
        assert {results[i]["model_version"] for i in picked} == {version}
        expected = session_of("random_forest", version, flows[4:20][picked])
        assert [results[i]["prediction"] for i in picked] == expected


def test_csv_batch_pins_a_version(client: TestClient, flows: Rows) -> None:
    answer = client.post(
        "/predict/batch?model_name=decision_tree&model_version=1",
        content=flow_csv(flows[:3]),
        headers={"content-type": "text/csv", "accept": "text/csv"},
    )
    assert {row["model_version"] for row in csv.DictReader(io.StringIO(answer.text))} == {"1"}


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        pytest.param({"model_version": "7"}, 400, "Model 'xgboost' has no version '7'. "
                     "Versions: ['1', '2']", id="unknown version"),
        pytest.param({"model_version": True}, 422, "model_version: expected a string or an "
                     "integer, got bool", id="not a version"),
        pytest.param({"model_version": 1.5}, 422, "got float", id="fraction"),
    ],
)  # fmt: skip
def test_bad_versions_on_the_existing_api(
    client: TestClient, body: dict[str, Any], status: int, message: str
) -> None:
    request = {"features": [0.0] * 78, "model_name": "xgboost", **body}
    answer = client.post("/predict", json=request)
    assert answer.status_code == status
    assert message in answer.json()["error"]
    batch = client.post("/predict/batch", json=[request])
    assert batch.status_code == status
    assert batch.json()["error"].startswith("[0].model_version: ")


def test_v2_serves_each_version(client: TestClient, flows: Rows) -> None:
    inputs = [{"name": "features", "datatype": "FP64", "shape": [1, 78],
               "data": flows[7].tolist()}]  # fmt: skip
    for version in ("1", "2"):
        answer = client.post(
            f"/v2/models/xgboost/versions/{version}/infer", json={"inputs": inputs}
        )
        assert answer.json()["model_version"] == version
        ready = client.get(f"/v2/models/xgboost/versions/{version}/ready").json()
        assert ready == {"name": "xgboost", "version": version, "ready": True}
    assert (
        client.post("/v2/models/xgboost/infer", json={"inputs": inputs}).json()["model_version"]
        == "2"
    )


def test_models_lists_every_version(client: TestClient) -> None:
    models = {model["name"]: model for model in client.get("/models").json()["models"]}
    assert models["xgboost"]["version"] == "2"
    assert models["xgboost"]["versions"] == ["1", "2"]
    assert all(model["versions"] == ["1", "2"] for model in models.values())
