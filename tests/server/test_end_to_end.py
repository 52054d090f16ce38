"""Train a small synthetic pickle set, convert it, serve it: the rooms' contract end to end."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.errors import ArtifactError
from server.model import Model, load_model, session_options
from server.repository import load_repository
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


def _session_answers(folder: Path, rows: np.ndarray) -> list[Any]:
    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    answers: list[Any] = session.run(None, {"features": rows})
    return answers


@pytest.mark.parametrize("name", ["random_forest", "xgboost", "decision_tree"])
def test_large_batches_run_on_the_batch_graph_with_the_same_answers(
    converted: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above the offload threshold the rows go to the batch graph, split between two runs
    (here 2,400 rows: two parts of 1,200, each run in slices), and answer as model.onnx."""
    runs: list[int] = []
    real_run_slices = Model._run_slices

    def recording(model: Model, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        runs.append(len(rows))
        return real_run_slices(model, rows)

    monkeypatch.setattr(Model, "_run_slices", recording)
    rows = np.random.default_rng(4).lognormal(3, 3, size=(2400, 78)).round(2)
    rows[::50, 14] = np.inf
    settings = Settings(artifacts_path=converted, max_batch_rows=5000, batch_threads=2)
    with TestClient(create_app(settings)) as client:
        model = client.app.state.serving.registry.get(name)  # type: ignore[attr-defined]
        assert model.manifest.batch is not None
        runs.clear()  # the load-time probes
        folder = converted / name / model.version
        labels, probabilities = _session_answers(folder, rows)
        body = {
            "inputs": [
                {"name": "features", "shape": list(rows.shape), "datatype": "FP64",
                 "data": rows.ravel().tolist()}
            ]
        }  # fmt: skip
        # Python's json writes inf as Infinity, which the server reads.
        content, headers = json.dumps(body), {"content-type": "application/json"}
        answer = client.post(f"/v2/models/{name}/infer", content=content, headers=headers).json()
    outputs = {output["name"]: output for output in answer["outputs"]}
    assert outputs["label"]["data"] == labels.tolist()
    got = np.array(outputs["probabilities"]["data"], np.float32).reshape(probabilities.shape)
    np.testing.assert_array_equal(got, probabilities)
    assert runs == [1200, 1200]


def test_artifacts_without_a_batch_graph_still_load_and_answer_alike(
    converted: Path, tmp_path: Path
) -> None:
    """An artifact from before batch graphs: its manifest has no `batch` entry."""
    old = tmp_path / "artifacts"
    shutil.copytree(converted, old)
    for manifest_file in old.glob("*/*/manifest.json"):
        manifest = json.loads(manifest_file.read_text())
        (manifest_file.parent / manifest.pop("batch")["file"]).unlink()
        manifest_file.write_text(json.dumps(manifest))
    rows = np.random.default_rng(5).lognormal(3, 3, size=(300, 78)).round(2)
    registry = load_repository(old, session_options(1, False), session_options(2, False))
    for name in registry.names():
        model = registry.get(name)
        assert model.manifest.batch is None
        labels, probabilities = _session_answers(old / name / model.version, rows)
        for large in (False, True):
            answer = model.predict(rows, large=large)
            assert answer.labels.tolist() == labels.tolist()
            np.testing.assert_array_equal(answer.probabilities, probabilities)


@pytest.mark.parametrize(
    ("edit", "error"),
    [
        pytest.param(lambda m: m["batch"].update(sha256="0" * 64), "does not match the manifest",
                     id="wrong sha256"),
        pytest.param(lambda m: m["batch"].update(file="model.onnx"), "another file than onnx.file",
                     id="same file as model.onnx"),
        pytest.param(lambda m: m["batch"].update(intra_op_threads=0), "positive integer",
                     id="no threads"),
        pytest.param(lambda m: m["batch"].pop("bytes"), "'batch.bytes' is missing",
                     id="no size"),
    ],
)  # fmt: skip
def test_a_broken_batch_entry_is_refused_naming_it(
    converted: Path, tmp_path: Path, edit: Callable[[dict[str, Any]], object], error: str
) -> None:
    folder = tmp_path / "1"
    shutil.copytree(converted / "decision_tree" / "1", folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    edit(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=error):
        load_model(folder, session_options(1, False))
