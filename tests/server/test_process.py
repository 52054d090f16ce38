"""The real server process (`python -m server`) over a socket: the old client's call unchanged,
tritonclient (JSON and binary), and what the process imports."""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from benchmarks.processes import free_port, python_server
from tests.conftest import PROJECT_ROOT
from tests.server.conftest import Rows
from tests.server.processes import tracer_env

Reference = Callable[[str, Rows], tuple[list[str], np.ndarray[Any, Any]]]


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tracer")


@pytest.fixture(scope="module")
def served(repository: Path, traced: Path) -> Iterator[str]:
    env = {"ARTIFACTS_PATH": str(repository), "LOG_LEVEL": "info", **tracer_env(traced)}
    server = python_server(env, traced / "server.log")
    server.wait_ready()
    yield server.url
    returncode, output = server.stop(signal.SIGTERM)  # a graceful stop, exit status 0
    assert returncode == 0, output
    assert "shutdown_started" in output
    check_imports(traced / "reports", processes=1)


def test_old_client_call_unchanged(served: str, flows: Rows, reference: Reference) -> None:
    features = flows[3].tolist()
    response = httpx.post(
        served + "/predict", json={"features": features, "model_name": "random_forest"}, timeout=1
    )
    assert response.status_code == 200
    result = response.json()
    labels, probabilities = reference("random_forest", flows[3:4])
    assert result["prediction"] == labels[0]
    assert result["model_used"] == "random_forest"
    assert result["model_version"] == "2"
    got = np.array(list(result["probabilities"].values()), dtype=np.float32)
    np.testing.assert_array_equal(got, probabilities[0])


@pytest.mark.parametrize(
    "binary", [pytest.param(False, id="JSON"), pytest.param(True, id="binary")]
)
def test_tritonclient_infers(served: str, flows: Rows, reference: Reference, binary: bool) -> None:
    import tritonclient.http as triton

    rows = flows if binary else flows[2:]  # JSON cannot carry the infinity in row 0
    client = triton.InferenceServerClient(url=served.removeprefix("http://"))
    try:
        assert client.is_server_live()
        assert client.is_server_ready()
        assert client.is_model_ready("xgboost")
        metadata = client.get_model_metadata("xgboost")
        assert metadata["inputs"][0] == {"name": "features", "datatype": "FP64", "shape": [-1, 78]}
        features = triton.InferInput("features", list(rows.shape), "FP64")
        features.set_data_from_numpy(rows, binary_data=binary)
        outputs = [
            triton.InferRequestedOutput("label", binary_data=binary),
            triton.InferRequestedOutput("probabilities", binary_data=binary),
        ]
        result = client.infer("xgboost", [features], outputs=outputs, request_id="r-7")
    finally:
        client.close()
    labels, probabilities = reference("xgboost", rows)
    got_labels = [
        label.decode() if isinstance(label, bytes) else label for label in result.as_numpy("label")
    ]
    assert got_labels == labels
    np.testing.assert_array_equal(result.as_numpy("probabilities"), probabilities)
    assert result.get_response()["id"] == "r-7"


def test_tritonclient_default_outputs_are_binary(served: str, flows: Rows) -> None:
    import tritonclient.http as triton

    client = triton.InferenceServerClient(url=served.removeprefix("http://"))
    try:
        features = triton.InferInput("features", [2, 78], "FP32")
        features.set_data_from_numpy(flows[:2].astype(np.float32))
        result = client.infer("random_forest", [features], model_version="2")
    finally:
        client.close()
    assert result.as_numpy("probabilities").shape == (2, 2)
    assert result.as_numpy("label").shape == (2,)


def check_imports(reports: Path, processes: int) -> None:
    """What each server process imported and unpickled, from the tracer's reports."""
    seen = [json.loads(path.read_text()) for path in sorted(reports.glob("*.json"))]
    assert len(seen) == processes, [report["argv"] for report in seen]
    for report in seen:
        top_level = {name.partition(".")[0] for name in report["modules"]}
        assert not top_level & {"sklearn", "xgboost", "pandas", "joblib", "skl2onnx", "onnx"}
        assert report["unpickled"] == []
        # `pickle` itself is in sys.modules in any numpy process: numpy/_core/_methods.py imports
        # it unconditionally (and numpy.lib's npy/npz readers); uvicorn imports
        # multiprocessing (its multiprocess supervisor, unused here), which imports it too.
        # Those are the only importers; none of them unpickles anything (checked above).
        importers = {importer.partition(".")[0] for importer, name in report["importers"]}
        assert importers <= {"numpy", "uvicorn", "logging", "multiprocessing", "pickle"}, importers


def test_process_answers_every_model(served: str, flows: Rows) -> None:
    for name in ("random_forest", "xgboost", "decision_tree"):
        body = {"features": flows[4].tolist(), "model_name": name}
        assert httpx.post(served + "/predict", json=body, timeout=5).status_code == 200


def test_server_source_never_imports_pickle_or_training_libraries() -> None:
    forbidden = {"pickle", "_pickle", "joblib", "sklearn", "xgboost", "pandas", "models", "convert"}
    for path in (PROJECT_ROOT / "server").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not {name.partition(".")[0] for name in names} & forbidden, (path, names)


@pytest.mark.parametrize("workers", [pytest.param("1", id="one process"),
                                     pytest.param("2", id="two workers")])  # fmt: skip
def test_start_up_refuses_an_empty_repository(tmp_path: Path, workers: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "server", "--port", str(free_port()), "--workers", workers],
        cwd=PROJECT_ROOT,
        env={**os.environ, "ARTIFACTS_PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "cannot start: the model repository" in done.stderr
    assert "holds no models" in done.stderr
