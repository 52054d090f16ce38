"""The Open Inference Protocol routes through the app, JSON and binary tensor data."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient

from server.app import create_app, create_app_from_env
from server.settings import Settings
from tests.server.artifact_builder import MULTICLASS
from tests.server.conftest import Rows

Reference = Callable[[str, Rows], tuple[list[str], np.ndarray[Any, Any]]]


def test_server_metadata_and_health(client: TestClient) -> None:
    assert client.get("/v2").json() == {
        "name": "ids-inference",
        "version": "0.1.0",
        "extensions": ["binary_tensor_data", "model_repository"],
    }
    assert client.get("/v2/health/live").status_code == 200
    assert client.get("/v2/health/ready").json() == {"ready": True}


@pytest.mark.parametrize(
    "path",
    [pytest.param("/v2/models/xgboost", id="latest"),
     pytest.param("/v2/models/xgboost/versions/2", id="version 2")],
)  # fmt: skip
def test_model_metadata(client: TestClient, path: str) -> None:
    assert client.get(path).json() == {
        "name": "xgboost",
        "versions": ["1", "2"],
        "platform": "onnxruntime_onnx",
        "inputs": [{"name": "features", "datatype": "FP64", "shape": [-1, 78]}],
        "outputs": [
            {"name": "label", "datatype": "BYTES", "shape": [-1]},
            {"name": "probabilities", "datatype": "FP32", "shape": [-1, len(MULTICLASS)]},
        ],
    }
    assert client.get(f"{path}/ready").json() == {"name": "xgboost", "version": "2", "ready": True}


@pytest.mark.parametrize(
    ("path", "message"),
    [
        pytest.param("/v2/models/svm", "Model 'svm' not available", id="unknown model"),
        pytest.param("/v2/models/xgboost/versions/7", "has no version '7'",
                     id="version not loaded"),
        pytest.param("/v2/models/svm/ready", "Model 'svm' not available", id="unknown ready"),
        pytest.param("/v2/nothing", "Not Found", id="unknown route"),
    ],
)  # fmt: skip
def test_unknown_models_are_404(client: TestClient, path: str, message: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 404
    assert message in answer.json()["error"]
    assert set(answer.json()) == {"error"}


def infer_json(rows: Rows, datatype: str = "FP64", nested: bool = False) -> dict[str, Any]:
    values = rows.astype(np.float32 if datatype == "FP32" else np.float64)
    data = values.tolist() if nested else values.ravel().tolist()
    shape = list(rows.shape)
    return {"id": "req-1", "inputs": [{"name": "features", "shape": shape, "datatype": datatype,
                                       "data": data}]}  # fmt: skip


@pytest.mark.parametrize(
    ("datatype", "nested"),
    [pytest.param("FP64", False, id="FP64 flat"), pytest.param("FP64", True, id="FP64 nested"),
     pytest.param("FP32", False, id="FP32 flat")],
)  # fmt: skip
def test_json_infer_gives_the_sessions_answer(
    client: TestClient, flows: Rows, reference: Reference, datatype: str, nested: bool
) -> None:
    rows = flows[2:]  # JSON has no infinities
    answer = client.post("/v2/models/xgboost/infer", json=infer_json(rows, datatype, nested))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["model_name"], body["model_version"], body["id"]) == ("xgboost", "2", "req-1")
    label, probabilities = body["outputs"]
    sent = rows.astype(np.float32).astype(np.float64) if datatype == "FP32" else rows
    labels, expected = reference("xgboost", sent)
    assert label == {"name": "label", "datatype": "BYTES", "shape": [18], "data": labels}
    assert probabilities["datatype"] == "FP32"
    assert probabilities["shape"] == [18, 6]
    got = np.array(probabilities["data"], dtype=np.float32).reshape(18, 6)
    np.testing.assert_array_equal(got, expected)


def test_outputs_selector_and_versioned_route(client: TestClient, flows: Rows) -> None:
    request = infer_json(flows[2:4]) | {"outputs": [{"name": "label"}]}
    answer = client.post("/v2/models/random_forest/versions/2/infer", json=request)
    assert [output["name"] for output in answer.json()["outputs"]] == ["label"]


def binary_request(rows: Rows, outputs: list[dict[str, Any]] | None) -> tuple[bytes, int]:
    raw = rows.astype("<f8").tobytes()
    header: dict[str, Any] = {
        "inputs": [{"name": "features", "shape": list(rows.shape), "datatype": "FP64",
                    "parameters": {"binary_data_size": len(raw)}}],
    }  # fmt: skip
    if outputs is None:
        header["parameters"] = {"binary_data_output": True}
    else:
        header["outputs"] = outputs
    head = json.dumps(header).encode()
    return head + raw, len(head)


def split_binary(body: bytes, header_length: int) -> dict[str, Any]:
    header: dict[str, Any] = json.loads(body[:header_length])
    offset = header_length
    for output in header["outputs"]:
        size = output.get("parameters", {}).get("binary_data_size")
        if size is None:
            continue
        chunk, offset = body[offset : offset + size], offset + size
        if output["datatype"] == "BYTES":
            items, at = [], 0
            while at < len(chunk):
                (length,) = struct.unpack_from("<I", chunk, at)
                items.append(chunk[at + 4 : at + 4 + length].decode())
                at += 4 + length
            output["data"] = items
        else:
            output["data"] = np.frombuffer(chunk, dtype="<f4").reshape(output["shape"])
    assert offset == len(body)
    return header


@pytest.mark.parametrize(
    "outputs",
    [
        pytest.param(None, id="all outputs binary by request parameter"),
        pytest.param([{"name": "probabilities", "parameters": {"binary_data": True}},
                      {"name": "label", "parameters": {"binary_data": False}}],
                     id="binary probabilities, JSON labels"),
    ],
)  # fmt: skip
def test_binary_infer_gives_the_sessions_answer(
    client: TestClient,
    flows: Rows,
    reference: Reference,
    outputs: list[dict[str, Any]] | None,
) -> None:
    body, header_length = binary_request(flows, outputs)  # binary carries inf and NaN too
    answer = client.post(
        "/v2/models/xgboost/infer",
        content=body,
        headers={
            "inference-header-content-length": str(header_length),
            "content-type": "application/octet-stream",
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/octet-stream"
    decoded = split_binary(answer.content, int(answer.headers["inference-header-content-length"]))
    by_name = {output["name"]: output for output in decoded["outputs"]}
    labels, probabilities = reference("xgboost", flows)
    assert by_name["label"]["data"] == labels
    np.testing.assert_array_equal(by_name["probabilities"]["data"], probabilities)


FEATURES = {"name": "features", "shape": [1, 78], "datatype": "FP64", "data": [0.0] * 78}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(b"{", "malformed JSON", id="malformed JSON"),
        pytest.param({"inputs": []}, "inputs: must be a non-empty list", id="no inputs"),
        pytest.param({"inputs": [FEATURES | {"name": "x"}]}, "unexpected input 'x'",
                     id="wrong input name"),
        pytest.param({"inputs": [FEATURES, FEATURES]}, "given twice", id="input twice"),
        pytest.param({"inputs": [FEATURES | {"datatype": "BYTES"}]}, "not a numeric datatype",
                     id="BYTES input"),
        pytest.param({"inputs": [FEATURES | {"shape": [78]}]}, "must be [N, 78]", id="1-D shape"),
        pytest.param({"inputs": [FEATURES | {"data": [0.0] * 77}]}, "holds 77 numbers",
                     id="data shorter than shape"),
        pytest.param({"inputs": [FEATURES | {"data": [0.0] * 77 + ["x"]}]},
                     "inputs[0].data[77]: expected a number, got 'x'", id="text in data"),
        pytest.param({"inputs": [FEATURES | {"datatype": "INT32", "data": [0.5] * 78}]},
                     "do not fit datatype INT32", id="fractions as INT32"),
        pytest.param({"inputs": [FEATURES], "outputs": [{"name": "scores"}]},
                     "unknown output 'scores'", id="unknown output"),
        pytest.param({"inputs": [FEATURES],
                      "outputs": [{"name": "label", "parameters": {"classification": 2}}]},
                     "classification extension is not supported", id="classification"),
        pytest.param({"inputs": [FEATURES], "id": 5}, "id: must be a string", id="numeric id"),
        pytest.param({"inputs": [FEATURES], "parameters": {"binary_data_output": "yes"}},
                     "must be true or false", id="flag not boolean"),
    ],
)  # fmt: skip
def test_bad_infer_requests_are_400(client: TestClient, body: Any, message: str) -> None:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    answer = client.post("/v2/models/random_forest/infer", content=content)
    assert answer.status_code == 400, answer.text
    assert message in answer.json()["error"]
    assert set(answer.json()) == {"error"}


@pytest.mark.parametrize(
    ("header_length", "cut", "message"),
    [
        pytest.param("9999999", 0, "Inference-Header-Content-Length is 9999999", id="beyond body"),
        pytest.param("abc", 0, "must be an integer", id="not a number"),
        pytest.param(None, 8, "needs 624 bytes of binary data, 616 are left", id="short data"),
    ],
)  # fmt: skip
def test_bad_binary_requests_are_400(
    client: TestClient, flows: Rows, header_length: str | None, cut: int, message: str
) -> None:
    body, length = binary_request(flows[:1], None)
    answer = client.post(
        "/v2/models/random_forest/infer",
        content=body[: len(body) - cut],
        headers={"inference-header-content-length": header_length or str(length)},
    )
    assert answer.status_code == 400
    assert message in answer.json()["error"]


def test_infer_unknown_model_is_404_and_too_many_rows_413(client: TestClient) -> None:
    assert client.post("/v2/models/svm/infer", json={"inputs": [FEATURES]}).status_code == 404
    many = FEATURES | {"shape": [1001, 78], "data": [0.0] * 78 * 1001}
    assert client.post("/v2/models/xgboost/infer", json={"inputs": [many]}).status_code == 413


def test_not_ready_before_start_up(settings: Settings) -> None:
    # Without the context manager the lifespan does not run: nothing is loaded yet.
    not_started = TestClient(create_app(settings))
    answer = not_started.get("/v2/health/ready")
    assert answer.status_code == 503
    assert answer.json() == {"error": "not ready: no model is loaded"}
    assert not_started.get("/v2/health/live").status_code == 200
    assert not_started.get("/models").json() == {
        "models": [],
        "feature_count": 0,
        "label_classes": [],
    }


def test_factory_reads_the_environment(repository: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARTIFACTS_PATH", str(repository))
    monkeypatch.setenv("IDS_DEFAULT_MODEL", "xgboost")
    with TestClient(create_app_from_env()) as client:
        answer = client.post("/predict", json={"features": [0.0] * 78})
        assert answer.json()["model_used"] == "xgboost"
