"""The baseline service answers like the old API: the comparison is only honest if it does."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from benchmarks.baseline_service import create_app
from models.pickle_set import PickleSet
from tests.benchmarks.conftest import CLASSES, make_rows


@pytest.fixture(scope="module")
def client(pickle_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(pickle_dir)) as test_client:
        yield test_client


def row(index: int = 0) -> list[float]:
    features, _ = make_rows(index + 1, seed=11)
    return [float(value) for value in features[index]]


def assert_prediction(body: dict[str, Any], model_name: str) -> None:
    assert set(body) == {
        "prediction",
        "confidence",
        "probabilities",
        "model_used",
        "inference_time_ms",
        "timestamp",
    }
    assert body["prediction"] in CLASSES
    assert set(body["probabilities"]) == set(CLASSES)
    assert body["confidence"] == pytest.approx(max(body["probabilities"].values()))
    assert body["probabilities"][body["prediction"]] == body["confidence"]
    assert sum(body["probabilities"].values()) == pytest.approx(1.0)
    assert body["model_used"] == model_name
    assert isinstance(body["inference_time_ms"], float)
    assert isinstance(body["timestamp"], str)


def test_root_health_and_models_describe_the_service(client: TestClient) -> None:
    root = client.get("/").json()
    assert root["status"] == "running"
    assert root["models_loaded"] == 3
    health = client.get("/health").json()
    assert health == {
        "status": "healthy",
        "models_loaded": 3,
        "available_models": ["random_forest", "xgboost", "decision_tree"],
    }
    models = client.get("/models").json()
    assert [m["name"] for m in models["models"]] == health["available_models"]
    assert {m["type"] for m in models["models"]} == {
        "RandomForestClassifier",
        "XGBClassifier",
        "DecisionTreeClassifier",
    }
    assert models["feature_count"] == 78
    assert models["label_classes"] == sorted(CLASSES)


@pytest.mark.parametrize(
    "model_name",
    [
        pytest.param("random_forest", id="random forest"),
        pytest.param("xgboost", id="xgboost"),
        pytest.param("decision_tree", id="decision tree"),
    ],
)
def test_predict_answers_every_field(client: TestClient, model_name: str) -> None:
    response = client.post("/predict", json={"features": row(), "model_name": model_name})
    assert response.status_code == 200
    assert_prediction(response.json(), model_name)


class Recording:
    """An object whose method calls are noted in `calls` as `name.method`, then made."""

    def __init__(self, inner: Any, name: str, calls: list[str]) -> None:
        self._inner, self._name, self._calls = inner, name, calls

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(self._inner, attribute)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            self._calls.append(f"{self._name}.{attribute}")
            return value(*args, **kwargs)

        return call


@pytest.mark.parametrize(
    "model_name",
    [
        pytest.param("random_forest", id="random forest"),
        pytest.param("xgboost", id="xgboost"),
    ],
)
def test_a_prediction_makes_the_old_services_calls_and_no_other(
    pickle_dir: Path, model_name: str
) -> None:
    calls: list[str] = []
    with TestClient(create_app(pickle_dir)) as client:
        pickles: PickleSet = client.app.state.pickles  # type: ignore[attr-defined]
        client.app.state.pickles = replace(  # type: ignore[attr-defined]
            pickles,
            models={name: Recording(m, "model", calls) for name, m in pickles.models.items()},
            scaler=Recording(pickles.scaler, "scaler", calls),
            label_encoder=Recording(pickles.label_encoder, "label_encoder", calls),
        )
        answer = client.post("/predict", json={"features": row(), "model_name": model_name})
    assert answer.status_code == 200
    assert_prediction(answer.json(), model_name)
    assert calls == [
        "scaler.transform",
        "model.predict",
        "model.predict_proba",
        "label_encoder.inverse_transform",
    ]


def test_predict_defaults_to_random_forest(client: TestClient) -> None:
    response = client.post("/predict", json={"features": row()})
    assert response.status_code == 200
    assert response.json()["model_used"] == "random_forest"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"features": [1.0] * 77}, id="77 features"),
        pytest.param({"features": [1.0] * 79}, id="79 features"),
        pytest.param({"features": ["a"] * 78}, id="not numbers"),
        pytest.param({"model_name": "xgboost"}, id="no features"),
        pytest.param([1.0] * 78, id="bare list"),
    ],
)
def test_bad_request_is_422(client: TestClient, body: object) -> None:
    assert client.post("/predict", json=body).status_code == 422


def test_unknown_model_is_400(client: TestClient) -> None:
    response = client.post("/predict", json={"features": row(), "model_name": "svm"})
    assert response.status_code == 400
    assert "svm" in response.json()["detail"]


def test_batch_loops_over_rows_and_matches_single_predictions(client: TestClient) -> None:
    flows = [{"features": row(i), "model_name": "xgboost"} for i in range(5)]
    response = client.post("/predict/batch", json=flows)
    assert response.status_code == 200
    body = response.json()
    assert body["total_predictions"] == 5
    assert isinstance(body["total_time_ms"], float)
    assert isinstance(body["avg_time_per_prediction_ms"], float)
    singles = [client.post("/predict", json=flow).json() for flow in flows]
    for result, single in zip(body["results"], singles, strict=True):
        assert_prediction(result, "xgboost")
        assert result["prediction"] == single["prediction"]
        assert result["probabilities"] == single["probabilities"]


def test_batch_over_the_limit_is_refused(client: TestClient) -> None:
    flows = [{"features": row()}] * 1001
    assert client.post("/predict/batch", json=flows).status_code == 413
