"""The existing service's API through the app, field for field, and its error contract."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient

from models.features import FEATURE_NAMES
from server.app import create_app
from server.settings import Settings
from tests.server.artifact_builder import BINARY, MULTICLASS
from tests.server.conftest import Rows, quiet

Reference = Callable[[str, Rows], tuple[list[str], np.ndarray[Any, Any]]]
PREDICTION_FIELDS = {
    "prediction", "confidence", "probabilities", "model_used", "model_version",
    "inference_time_ms", "timestamp",
}  # fmt: skip


def assert_matches_session(
    results: list[dict[str, Any]], name: str, rows: Rows, reference: Reference
) -> None:
    labels, probabilities = reference(name, rows)
    assert [result["prediction"] for result in results] == labels
    for result, expected in zip(results, probabilities, strict=True):
        got = np.array(list(result["probabilities"].values()), dtype=np.float32)
        np.testing.assert_array_equal(got, expected)  # exact: float32 survives the round trip
        assert np.float32(result["confidence"]) == expected.max()
        assert result["model_used"] == name


def test_root_health_and_models(client: TestClient) -> None:
    root = client.get("/").json()
    assert root["service"] == "Network Intrusion Detection API"
    assert root["status"] == "running"
    assert root["models_loaded"] == 3
    assert root["endpoints"]["batch_predict"] == "/predict/batch"
    assert client.get("/health").json() == {
        "status": "healthy",
        "models_loaded": 3,
        "available_models": ["decision_tree", "random_forest", "xgboost"],
    }
    models = client.get("/models").json()
    assert models["feature_count"] == 78
    assert models["label_classes"] == list(BINARY)
    xgboost = next(model for model in models["models"] if model["name"] == "xgboost")
    assert xgboost["loaded"] is True
    assert xgboost["version"] == "2"
    assert xgboost["type"] == "LinearTestModel"
    assert xgboost["size"] > 0
    assert xgboost["label_classes"] == list(MULTICLASS)


def test_old_client_call_gives_the_sessions_answer(
    client: TestClient, flows: Rows, reference: Reference
) -> None:
    for row in flows[2:]:  # finite rows: what json.dumps writes for an old client
        answer = client.post("/predict", json={"features": row.tolist(), "model_name": "xgboost"})
        assert answer.status_code == 200
        assert set(answer.json()) == PREDICTION_FIELDS
        assert answer.json()["model_version"] == "2"
        assert_matches_session([answer.json()], "xgboost", row[None, :], reference)


def test_model_name_defaults_to_random_forest(client: TestClient, flows: Rows) -> None:
    answer = client.post("/predict", json={"features": flows[3].tolist()})
    assert answer.json()["model_used"] == "random_forest"


def test_infinity_and_nan_as_python_json_writes_them(
    client: TestClient, flows: Rows, reference: Reference
) -> None:
    body = json.dumps({"features": flows[0].tolist()}).encode()  # has Infinity
    assert b"Infinity" in body
    answer = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 200
    assert_matches_session([answer.json()], "random_forest", flows[:1], reference)


def test_named_features_in_any_order_with_csv_spacing(
    client: TestClient, flows: Rows, reference: Reference
) -> None:
    pairs = reversed(list(zip(FEATURE_NAMES, flows[4].tolist(), strict=True)))
    named = {f"  {name} ": value for name, value in pairs}
    answer = client.post("/predict", json={"features": named, "model_name": "decision_tree"})
    assert answer.status_code == 200
    assert_matches_session([answer.json()], "decision_tree", flows[4:5], reference)


def test_numbers_as_strings_and_booleans_are_read_as_the_old_service_did(
    client: TestClient, flows: Rows
) -> None:
    as_text = [repr(value) for value in flows[5].tolist()]
    as_text[0], as_text[1] = "Infinity", True  # type: ignore[call-overload]
    expected_row = flows[5].copy()
    expected_row[0], expected_row[1] = np.inf, 1.0
    answer = client.post("/predict", json={"features": as_text})
    numbers = client.post("/predict", content=json.dumps({"features": expected_row.tolist()}))
    assert answer.status_code == 200
    assert answer.json()["probabilities"] == numbers.json()["probabilities"]


FEATURES_78 = [1.0] * 78


@pytest.mark.parametrize(
    ("body", "location", "message"),
    [
        pytest.param(b'{"features": [1, 2,', [], "malformed JSON", id="malformed JSON"),
        pytest.param(b"[1, 2]", [], "expected an object with features", id="not an object"),
        pytest.param(b"{}", ["features"], "field required", id="features missing"),
        pytest.param(json.dumps({"features": FEATURES_78[:77]}).encode(), ["features"],
                     "expected 78 features, got 77", id="77 features"),
        pytest.param(json.dumps({"features": [*FEATURES_78[:40], "abc", *FEATURES_78[41:]]})
                     .encode(), ["features", 40], "expected a number, got 'abc'",
                     id="text at index 40"),
        pytest.param(json.dumps({"features": [*FEATURES_78[:3], None, *FEATURES_78[4:]]})
                     .encode(), ["features", 3], "expected a number, got null", id="null"),
        pytest.param(json.dumps({"features": [[1.0]] * 78}).encode(), ["features", 0],
                     "expected a number, got a list", id="nested list"),
        pytest.param(json.dumps({"features": "1,2,3"}).encode(), ["features"],
                     "expected a list of 78 numbers or an object", id="features a string"),
        pytest.param(json.dumps({"features": {"Flow Duration": 1, "Bogus": 2}}).encode(),
                     ["features"], "unknown feature names: 'Bogus'", id="unknown name"),
        pytest.param(json.dumps({"features": {"Flow Duration": 1}}).encode(), ["features"],
                     "missing features: 'Destination Port'", id="missing names"),
        pytest.param(json.dumps({"features": {"Flow Duration": "x"}}).encode(),
                     ["features", "Flow Duration"], "expected a number, got 'x'",
                     id="named non-number"),
        pytest.param(json.dumps({"features": FEATURES_78, "model_name": 3}).encode(),
                     ["model_name"], "expected a string, got int", id="model_name not a string"),
        pytest.param(b'{"features": [1' + b"0" * 400 + b"," + b"1," * 76 + b"1]}",
                     ["features", 0], "number out of range", id="integer beyond float"),
    ],
)  # fmt: skip
def test_bad_input_is_422_naming_the_field(
    client: TestClient, body: bytes, location: list[str | int], message: str
) -> None:
    answer = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 422, answer.text
    error = answer.json()
    assert message in error["error"]
    assert error["detail"][0]["loc"] == ["body", *location]


def test_unknown_model_name_is_400_with_detail(client: TestClient) -> None:
    answer = client.post("/predict", json={"features": FEATURES_78, "model_name": "svm"})
    assert answer.status_code == 400
    assert answer.json()["detail"] == answer.json()["error"]
    assert "Model 'svm' not available" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        pytest.param("/predict", {"content-type": "text/plain"}, 415, id="text body"),
        pytest.param("/predict", {"content-type": "text/csv"}, 415, id="csv to /predict"),
        pytest.param("/predict/batch", {"content-type": "application/xml"}, 415, id="xml batch"),
        pytest.param("/predict", {"content-type": "application/json", "content-encoding": "br"},
                     415, id="unknown content encoding"),
        pytest.param("/predict", {"content-type": "application/json",
                                  "content-length": str(10**9)}, 413, id="declared too large"),
    ],
)  # fmt: skip
def test_content_type_encoding_and_size_statuses(
    client: TestClient, path: str, headers: dict[str, str], status: int
) -> None:
    answer = client.post(path, content=b"{}", headers=headers)
    assert answer.status_code == status
    assert "error" in answer.json()
    assert "detail" in answer.json()


def test_gzip_request_bodies_are_read(client: TestClient, flows: Rows) -> None:
    body = gzip.compress(json.dumps({"features": flows[3].tolist()}).encode())
    answer = client.post(
        "/predict",
        content=body,
        headers={"content-type": "application/json", "content-encoding": "gzip"},
    )
    assert answer.status_code == 200


def test_unknown_route_and_method_answer_json(client: TestClient) -> None:
    assert client.get("/nowhere").json() == {"error": "Not Found", "detail": "Not Found"}
    answer = client.get("/predict")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"


def test_batch_groups_rows_by_model_and_keeps_order(
    client: TestClient, flows: Rows, reference: Reference
) -> None:
    names = ["xgboost", "random_forest", "decision_tree", "xgboost"] * 5
    body = [
        {"features": row.tolist(), "model_name": name}
        for row, name in zip(flows, names, strict=True)
    ]
    body[7].pop("model_name")  # the default model, random_forest
    names[7] = "random_forest"
    answer = client.post("/predict/batch", content=json.dumps(body))
    assert answer.status_code == 200
    batch = answer.json()
    assert batch["total_predictions"] == 20
    assert batch["avg_time_per_prediction_ms"] == pytest.approx(batch["total_time_ms"] / 20)
    for name in set(names):
        picked = [i for i, n in enumerate(names) if n == name]
        results = [batch["results"][i] for i in picked]
        assert_matches_session(results, name, flows[picked], reference)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        pytest.param([], 422, "Empty batch", id="empty"),
        pytest.param({"features": FEATURES_78}, 422, "expected a list of prediction requests",
                     id="an object, not a list"),
        pytest.param([{"features": FEATURES_78}] * 1001, 413, "Maximum 1000 flows per batch",
                     id="1001 rows"),
        pytest.param([{"features": FEATURES_78}, {"features": FEATURES_78[:5]}], 422,
                     "[1].features: expected 78 features, got 5", id="second row short"),
        pytest.param([{"features": FEATURES_78, "model_name": "svm"}], 400,
                     "[0].model_name: Model 'svm' not available", id="unknown model in row"),
    ],
)  # fmt: skip
def test_batch_errors(client: TestClient, body: Any, status: int, message: str) -> None:
    answer = client.post("/predict/batch", json=body)
    assert answer.status_code == status
    assert message in answer.json()["error"]


def test_batch_row_limit_is_configurable(settings: Settings) -> None:
    limited = Settings(artifacts_path=settings.artifacts_path, max_batch_rows=2)
    with TestClient(create_app(limited)) as small:
        answer = small.post("/predict/batch", json=[{"features": FEATURES_78}] * 3)
        assert answer.status_code == 413
        assert small.post("/predict/batch", json=[{"features": FEATURES_78}] * 2).status_code == 200


def flow_csv(rows: Rows, shuffle: bool = True, newline: str = "\r\n", bom: bool = True) -> bytes:
    """A flow extractor's CSV: leading spaces in names, extra columns, columns in any order,
    the duplicated `Fwd Header Length` header, Infinity and NaN."""
    header = ["Flow ID", *(f" {name}" for name in FEATURE_NAMES), " Label"]
    header = [name.replace(".1", "") for name in header]  # the raw files repeat the name
    lines = [
        [f"10.0.0.{i}-80", *(_as_written(value) for value in row.tolist()), "BENIGN"]
        for i, row in enumerate(rows)
    ]
    order = list(range(len(header)))
    if shuffle:
        order = [*order[60:], *order[:60]]  # keeps the two Fwd Header Length columns in order
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow([header[i] for i in order])
    writer.writerows([[line[i] for i in order] for line in lines])
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode()


def _as_written(value: float) -> str:
    if np.isnan(value):
        return "NaN"
    return "Infinity" if value == np.inf else repr(value)


def test_csv_batch_answers_json(client: TestClient, flows: Rows, reference: Reference) -> None:
    answer = client.post(
        "/predict/batch?model_name=xgboost",
        content=flow_csv(flows),
        headers={"content-type": "text/csv"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["total_predictions"] == 20
    assert_matches_session(answer.json()["results"], "xgboost", flows, reference)


def test_csv_batch_answers_csv_when_asked(
    client: TestClient, flows: Rows, reference: Reference
) -> None:
    answer = client.post(
        "/predict/batch",
        content=flow_csv(flows, shuffle=False, newline="\n", bom=False),
        headers={"content-type": "text/csv; charset=utf-8", "accept": "text/csv"},
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    records = list(csv.DictReader(io.StringIO(answer.text)))
    labels, probabilities = reference("random_forest", flows)
    assert [record["prediction"] for record in records] == labels
    assert [int(record["row"]) for record in records] == list(range(1, 21))
    got = np.array(
        [[float(r[f"probability_{c}"]) for c in BINARY] for r in records], dtype=np.float32
    )
    np.testing.assert_array_equal(got, probabilities)
    assert {record["model_version"] for record in records} == {"2"}


@pytest.mark.parametrize(
    ("accept", "csv_answer"),
    [
        pytest.param("text/csv", True, id="csv"),
        pytest.param("application/json", False, id="json"),
        pytest.param("text/csv;q=0.5, application/json", False, id="json ranked higher"),
        pytest.param("application/json;q=0.1, text/csv", True, id="csv ranked higher"),
        pytest.param("text/csv, */*", True, id="csv over a wildcard"),
        pytest.param("*/*", False, id="wildcard only"),
    ],
)
def test_csv_answer_negotiation(
    client: TestClient, flows: Rows, accept: str, csv_answer: bool
) -> None:
    answer = client.post(
        "/predict/batch",
        content=flow_csv(flows[:2]),
        headers={"content-type": "text/csv", "accept": accept},
    )
    assert answer.headers["content-type"].startswith("text/csv") is csv_answer


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        pytest.param(b"", 422, "CSV: no header line", id="empty body"),
        pytest.param(b"Flow ID,Label\r\nx,BENIGN\r\n", 422, "CSV header: missing features",
                     id="no feature columns"),
        pytest.param(flow_csv(np.ones((1, 78)))[:-1].split(b"\r\n")[0], 422,
                     "CSV: a header but no rows", id="header only"),
        pytest.param(flow_csv(np.ones((2, 78)), shuffle=False).replace(b"1.0,", b"abc,", 1), 422,
                     "CSV line 2, column 'Destination Port': expected a number, got 'abc'",
                     id="text in a feature column"),
        pytest.param(flow_csv(np.ones((2, 78)), shuffle=False).rsplit(b",", 60)[0] + b"\r\n", 422,
                     "CSV line 3: 20 fields, the header has 80", id="short line"),
        pytest.param(flow_csv(np.ones((1001, 78))), 413, "Maximum 1000 flows per batch",
                     id="1001 rows"),
    ],
)  # fmt: skip
def test_csv_errors(client: TestClient, body: bytes, status: int, message: str) -> None:
    answer = client.post("/predict/batch", content=body, headers={"content-type": "text/csv"})
    assert answer.status_code == status, answer.text
    assert message in answer.json()["error"]


@pytest.fixture(scope="module")
def roomy(settings: Settings) -> Iterator[TestClient]:
    """A client of a server that takes 20,000 rows per batch (the real files are larger)."""
    roomy = Settings(artifacts_path=settings.artifacts_path, max_batch_rows=20_000)
    with TestClient(create_app(quiet(roomy))) as test_client:
        yield test_client


REAL_FILES = [
    pytest.param("friday-portscan-trafficlabelling.csv", 1000, id="TrafficLabelling layout"),
    pytest.param("thursday-webattacks-head-raw.csv", 1006, id="raw MachineLearningCVE header"),
    pytest.param("thursday-xss-trafficlabelling.csv", 652, id="integers written as floats"),
]


@pytest.mark.parametrize(("file_name", "rows"), REAL_FILES)
def test_real_flow_files_post_as_csv(
    roomy: TestClient, cicids_dir: Path, reference: Reference, file_name: str, rows: int
) -> None:
    body = (cicids_dir / file_name).read_bytes()
    answer = roomy.post(
        "/predict/batch?model_name=xgboost", content=body, headers={"content-type": "text/csv"}
    )
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert len(results) == rows
    expected = _read_features(cicids_dir / file_name)
    assert_matches_session(results, "xgboost", expected, reference)


def _read_features(path: Path) -> Rows:
    """The 78 features of a CICIDS2017 file, read independently of the server's parser."""
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text))
    header = [cell.strip() for cell in next(reader)]
    if header.count("Fwd Header Length") == 2:
        header[len(header) - 1 - header[::-1].index("Fwd Header Length")] = "Fwd Header Length.1"
    columns = [header.index(name) for name in FEATURE_NAMES]
    return np.array([[float(row[i]) for i in columns] for row in reader if row], dtype=np.float64)


def test_real_ddos_file_answers_csv(
    client: TestClient, roomy: TestClient, cicids_dir: Path, reference: Reference
) -> None:
    body = (cicids_dir / "friday-ddos-head-raw.csv").read_bytes()  # CRLF, 9998 rows
    headers = {"content-type": "text/csv", "accept": "text/csv"}
    assert client.post("/predict/batch", content=body, headers=headers).status_code == 413
    answer = roomy.post("/predict/batch", content=body, headers=headers)
    assert answer.status_code == 200
    records = list(csv.DictReader(io.StringIO(answer.text)))
    labels, _ = reference("random_forest", _read_features(cicids_dir / "friday-ddos-head-raw.csv"))
    assert [record["prediction"] for record in records] == labels
