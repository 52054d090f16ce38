"""Train a small synthetic pickle set, convert it, serve it: the rooms' contract end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from tests.conftest import PROJECT_ROOT


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("end_to_end")
    for command in (
        ["models.train", "--synthetic", "4000", "--out", str(root / "models")],
        ["convert", "--models", str(root / "models"), "--out", str(root / "artifacts")],
    ):
        done = subprocess.run(
            [sys.executable, "-m", *command], cwd=PROJECT_ROOT, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
    return root / "artifacts"


def test_converted_models_are_served_with_the_sessions_answers(converted: Path) -> None:
    rng = np.random.default_rng(3)
    rows = rng.lognormal(3, 3, size=(50, 78)).round(2)
    with TestClient(create_app(Settings(artifacts_path=converted))) as client:
        models = {model["name"]: model for model in client.get("/models").json()["models"]}
        assert {"random_forest", "xgboost", "decision_tree"} <= set(models)
        for name, info in models.items():
            session = ort.InferenceSession(
                str(converted / name / info["version"] / "model.onnx"),
                providers=["CPUExecutionProvider"],
            )
            labels, probabilities = session.run(None, {"features": rows})
            body = [{"features": row.tolist(), "model_name": name} for row in rows]
            results = client.post("/predict/batch", json=body).json()["results"]
            assert [result["prediction"] for result in results] == labels.tolist()
            got = np.array([list(r["probabilities"].values()) for r in results], np.float32)
            np.testing.assert_array_equal(got, probabilities)
