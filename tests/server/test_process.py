"""The real server process (`python -m server`) over a socket: the old client's call unchanged,
tritonclient (JSON and binary), and what the process imports."""

from __future__ import annotations

import ast
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.conftest import PROJECT_ROOT
from tests.server.conftest import Rows

Reference = Callable[[str, Rows], tuple[list[str], np.ndarray[Any, Any]]]

# Runs `python -m server` unchanged, after installing two observers: an import tracer noting
# which module executes `import pickle` (and the other forbidden names), and an audit hook noting
# any unpickling (`pickle.find_class` fires for every class a pickle names). Reported at exit.
LAUNCHER = """
import atexit, builtins, json, os, runpy, sys
WATCHED = {"pickle", "_pickle", "joblib", "sklearn", "xgboost", "pandas"}
importers, unpickled = set(), []
real_import = builtins.__import__
def traced(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0 and name.partition(".")[0] in WATCHED:
        importers.add(((globals or {}).get("__name__", "?"), name))
    return real_import(name, globals, locals, fromlist, level)
builtins.__import__ = traced
def audit(event, args):
    if event == "pickle.find_class":
        unpickled.append(repr(args))
sys.addaudithook(audit)
def report():
    with open(os.environ["IMPORT_REPORT"], "w") as out:
        json.dump({"modules": sorted(sys.modules), "importers": sorted(importers),
                   "unpickled": unpickled}, out)
atexit.register(report)
sys.argv[0] = "server"
runpy.run_module("server", run_name="__main__", alter_sys=True)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start(command: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited early:\n{process.communicate()[0]}")
        try:
            if httpx.get(url + "/v2/health/ready", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"the server was not ready in 30 s:\n{process.communicate()[0]}")


def stop(process: subprocess.Popen[str], how: int = signal.SIGINT) -> tuple[int, str]:
    process.send_signal(how)
    output, _ = process.communicate(timeout=30)
    return process.returncode, output


@pytest.fixture(scope="module")
def served(repository: Path) -> Iterator[str]:
    process, url = start(
        [sys.executable, "-m", "server"], {"ARTIFACTS_PATH": str(repository), "LOG_LEVEL": "info"}
    )
    yield url
    returncode, output = stop(process)
    assert returncode == 0, output


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


def test_process_never_loads_a_pickle_or_training_library(
    repository: Path, tmp_path: Path, flows: Rows
) -> None:
    report = tmp_path / "imports.json"
    process, url = start(
        [sys.executable, "-c", LAUNCHER],
        {"ARTIFACTS_PATH": str(repository), "IMPORT_REPORT": str(report)},
    )
    for name in ("random_forest", "xgboost", "decision_tree"):
        body = {"features": flows[4].tolist(), "model_name": name}
        assert httpx.post(url + "/predict", json=body, timeout=5).status_code == 200
    returncode, output = stop(process, signal.SIGTERM)  # a graceful stop, exit status 0
    assert returncode == 0, output
    assert "Application shutdown complete" in output
    seen = json.loads(report.read_text())
    top_level = {name.partition(".")[0] for name in seen["modules"]}
    assert not top_level & {"sklearn", "xgboost", "pandas", "joblib", "skl2onnx", "onnx"}
    assert seen["unpickled"] == []
    # `pickle` itself is in sys.modules in any numpy process: numpy/_core/_methods.py imports it
    # unconditionally (and numpy.lib's npy/npz readers), uvicorn imports logging.config (->
    # logging.handlers), multiprocessing and its multiprocess supervisor, which import it too.
    # Those are the only importers; none of them unpickles anything (checked above).
    importers = {importer.partition(".")[0] for importer, name in seen["importers"]}
    assert importers <= {"numpy", "uvicorn", "logging", "multiprocessing", "pickle"}, importers


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


def test_start_up_refuses_an_empty_repository(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "server", "--port", str(free_port())],
        cwd=PROJECT_ROOT,
        env={**os.environ, "ARTIFACTS_PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "cannot start: the model repository" in done.stderr
    assert "holds no models" in done.stderr
