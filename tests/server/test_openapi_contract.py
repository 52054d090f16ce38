"""The OpenAPI document states the server's real contract: a request valid against its schema is
accepted and an invalid one refused, the document's examples are accepted, and real answers match
the published answer schemas."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from flows.columns import CICFLOWMETER, CICIDS2018, NAMINGS, name_in
from models.features import FEATURE_NAMES
from server.app import create_app
from server.openapi_served import NUMERIC_TEXT
from server.settings import Settings
from tests.server.artifact_builder import write_artifact

ROW = [float(index) for index in range(78)]
NAMED = dict(zip(FEATURE_NAMES, ROW, strict=True))


def named_as(naming: str) -> dict[str, float]:
    """ROW keyed by `naming`'s names (77 of them: only CICIDS2017 writes Fwd Header Length.1)."""
    return {
        spelling: value
        for name, value in NAMED.items()
        if (spelling := name_in(name, naming)) is not None
    }


MAX_ROWS = 1000  # the `settings` fixture's


@pytest.fixture(scope="module")
def document(client: TestClient) -> dict[str, Any]:
    answer: dict[str, Any] = client.get("/openapi.json").json()
    return answer


def validator(document: dict[str, Any], schema: dict[str, Any]) -> jsonschema.Validator:
    """`schema` checked with the document's components (its references point into them)."""
    return jsonschema.Draft202012Validator({**schema, "components": document["components"]})


def component(document: dict[str, Any], name: str) -> jsonschema.Validator:
    return validator(document, {"$ref": f"#/components/schemas/{name}"})


def with_row(**fields: Any) -> dict[str, Any]:
    return {"features": ROW, **fields}


def replaced(index: int, value: Any) -> list[Any]:
    return [*ROW[:index], value, *ROW[index + 1 :]]


PREDICT = [
    pytest.param(with_row(), id="78 numbers, default model"),
    pytest.param({"features": ROW[:77]}, id="77 numbers"),
    pytest.param({"features": [*ROW, 1.0]}, id="79 numbers"),
    pytest.param({"features": NAMED}, id="named features"),
    pytest.param({"features": dict(list(NAMED.items())[1:])}, id="a named feature missing"),
    pytest.param({"features": {**NAMED, "Extra": 1.0}}, id="an unknown feature name"),
    pytest.param({"features": named_as(CICFLOWMETER)}, id="named as CICFlowMeter names them"),
    pytest.param({"features": named_as(CICIDS2018)}, id="named as CSE-CIC-IDS2018 names them"),
    pytest.param({"features": {**NAMED, "Dst Port": 1.0}}, id="a feature in two namings"),
    pytest.param({"features": {k: v for k, v in NAMED.items() if k != "Fwd Header Length.1"}},
                 id="the second Fwd Header Length left out"),
    pytest.param({"features": {k: v for k, v in NAMED.items() if k != "Fwd Header Length"}},
                 id="the first Fwd Header Length left out"),
    pytest.param({"features": replaced(3, "1.5")}, id="numeric string"),
    pytest.param({"features": replaced(3, " -1_000.5e-3 ")}, id="numeric string, underscores"),
    pytest.param({"features": replaced(3, "Infinity")}, id="string Infinity"),
    pytest.param({"features": replaced(3, "nan")}, id="string nan"),
    pytest.param({"features": replaced(3, "1..5")}, id="not a number string"),
    pytest.param({"features": replaced(3, "")}, id="empty string"),
    pytest.param({"features": replaced(3, True)}, id="boolean"),
    pytest.param({"features": replaced(3, None)}, id="null feature"),
    pytest.param({"features": replaced(3, [1.0])}, id="nested list feature"),
    pytest.param({"features": replaced(3, 10**400)}, id="integer beyond float64"),
    pytest.param({"features": "1,2,3"}, id="features a string"),
    pytest.param({"model_name": "xgboost"}, id="features missing"),
    pytest.param(with_row(model_name="xgboost"), id="a served model"),
    pytest.param(with_row(model_name="nope"), id="an unknown model"),
    pytest.param(with_row(model_name=3), id="model_name a number"),
    pytest.param(with_row(model_name=None), id="model_name null"),
    pytest.param(with_row(model_version="1"), id="version string"),
    pytest.param(with_row(model_version=2), id="version integer"),
    pytest.param(with_row(model_version=None), id="version null"),
    pytest.param(with_row(model_version="3"), id="an unknown version"),
    pytest.param(with_row(model_version="01"), id="version with a leading zero"),
    pytest.param(with_row(model_version=1.5), id="version a fraction"),
    pytest.param(with_row(model_version=2.0), id="version a whole float"),
    pytest.param(with_row(model_version=True), id="version a boolean"),
    pytest.param([with_row()], id="a list, not an object"),
]  # fmt: skip


BATCH = [
    pytest.param([], id="empty"),
    pytest.param([with_row()], id="one flow"),
    pytest.param([with_row(model_name="xgboost"), {"features": NAMED}], id="two models"),
    pytest.param([with_row()] * MAX_ROWS, id="IDS_MAX_BATCH_ROWS flows"),
    pytest.param([with_row()] * (MAX_ROWS + 1), id="one flow too many"),
    pytest.param([with_row(), {"features": ROW[:10]}], id="one short flow"),
    pytest.param(with_row(), id="an object, not a list"),
]  # fmt: skip


def tensor(**fields: Any) -> dict[str, Any]:
    return {"inputs": [{"name": "features", "datatype": "FP64", "shape": [1, 78], "data": ROW,
                        **fields}]}  # fmt: skip


INFER = [
    pytest.param(tensor(), id="one row"),
    pytest.param(tensor(shape=[2, 78], data=[ROW, ROW]), id="two rows, nested"),
    pytest.param(tensor(shape=[2, 78], data=ROW + ROW), id="two rows, flat"),
    pytest.param(tensor(shape=[0, 78], data=[]), id="no rows"),
    pytest.param(tensor(shape=[1, 77], data=ROW[:77]), id="77 columns"),
    pytest.param(tensor(shape=[1, 78, 1]), id="three dimensions"),
    pytest.param(tensor(shape=[1.0, 78.0]), id="dimensions written as floats"),
    pytest.param(tensor(shape=[1.5, 78]), id="a fractional dimension"),
    pytest.param(tensor(shape=[True, 78]), id="a boolean dimension"),
    pytest.param(tensor(shape=[MAX_ROWS + 1, 78], data=ROW * (MAX_ROWS + 1)), id="too many rows"),
    pytest.param(tensor(data=ROW[:77]), id="data too short"),
    pytest.param(tensor(datatype="FP32"), id="FP32"),
    pytest.param(tensor(datatype="FP16"), id="FP16"),
    pytest.param(tensor(datatype="INT8"), id="INT8 whole numbers"),
    pytest.param(tensor(datatype="INT8", data=replaced(0, 300)), id="INT8 out of range"),
    pytest.param(tensor(datatype="UINT8", data=replaced(0, -1)), id="UINT8 negative"),
    pytest.param(tensor(datatype="INT32", data=replaced(0, 1.5)), id="INT32 fraction"),
    pytest.param(tensor(datatype="BYTES"), id="BYTES"),
    pytest.param(tensor(datatype="FP128"), id="unknown datatype"),
    pytest.param(tensor(name="x"), id="unknown input name"),
    pytest.param(tensor(data=replaced(0, "1")), id="a string in data"),
    pytest.param(tensor(parameters={"binary_data_size": 624}), id="binary size in a JSON body"),
    pytest.param(tensor(parameters={"other": 1}), id="other tensor parameters"),
    pytest.param({**tensor(), "id": None}, id="id null"),
    pytest.param({**tensor(), "id": 3}, id="id a number"),
    pytest.param({"inputs": tensor()["inputs"] * 2}, id="the input twice"),
    pytest.param({"inputs": []}, id="no inputs"),
    pytest.param({**tensor(), "outputs": [{"name": "label"}]}, id="one output"),
    pytest.param({**tensor(), "outputs": None}, id="outputs null"),
    pytest.param({**tensor(), "outputs": [{"name": "nope"}]}, id="unknown output"),
    pytest.param({**tensor(), "outputs": [{"name": "label", "parameters": {"classification": 2}}]},
                 id="classification asked"),
    pytest.param({**tensor(), "outputs": [{"name": "label", "parameters": {"classification": 0}}]},
                 id="classification zero"),
    pytest.param({**tensor(), "parameters": {"binary_data_output": "yes"}}, id="binary flag text"),
    pytest.param({**tensor(), "parameters": None}, id="parameters null"),
]  # fmt: skip


def cases(path: str, schema: str, bodies: list[Any]) -> list[Any]:
    return [pytest.param(path, schema, *case.values, id=f"{path} {case.id}") for case in bodies]


@pytest.mark.parametrize(
    ("path", "schema", "body"),
    cases("/predict", "PredictRequest", PREDICT)
    + cases("/predict/batch", "BatchRequest", BATCH)
    + cases("/v2/models/xgboost/versions/1/infer", "InferRequest", INFER),
)
def test_request_schemas_accept_what_the_server_accepts(
    client: TestClient, document: dict[str, Any], path: str, schema: str, body: Any
) -> None:
    answer = client.post(path, json=body)
    assert answer.status_code in (200, 400, 413, 422), answer.text
    valid = component(document, schema).is_valid(body)
    assert valid == (answer.status_code == 200), answer.text


def ascii_digits(text: str) -> bool:
    return not any(char.isdecimal() and not char.isascii() for char in text)


@given(st.one_of(st.text(max_size=30).filter(ascii_digits), st.from_regex(NUMERIC_TEXT)))
def test_numeric_text_is_what_float_reads(text: str) -> None:
    try:
        float(text)
    except ValueError:
        readable = False
    else:
        readable = True
    assert (re.search(NUMERIC_TEXT, text) is not None) == readable


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_examples_are_accepted_and_match_their_answer_schemas(
    client: TestClient, document: dict[str, Any]
) -> None:
    sent = 0
    for path, method, operation in operations(document):
        body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        if "example" not in body or path.endswith(("/load", "/unload")):  # not idempotent
            continue
        url = path.replace("{name}", "xgboost").replace("{version}", "1")
        answer = client.request(method, url, json=body["example"])
        assert answer.status_code == 200, (path, answer.text)
        assert validator(document, body["schema"]).is_valid(body["example"]), path
        documented = operation["responses"]["200"]["content"]["application/json"]
        assert validator(document, documented["schema"]).is_valid(answer.json()), path
        if "example" in documented:
            assert validator(document, documented["schema"]).is_valid(documented["example"])
        sent += 1
    assert sent == 5  # /predict, /predict/batch, the two infer routes, the repository index


ANSWERS = [
    pytest.param("get", "/", None, "200", id="service"),
    pytest.param("get", "/health", None, "200", id="health"),
    pytest.param("get", "/models", None, "200", id="models"),
    pytest.param("post", "/predict", with_row(), "200", id="prediction"),
    pytest.param("post", "/predict", with_row(model_name="xgboost", model_version=1), "200",
                 id="multiclass prediction"),
    pytest.param("post", "/predict/batch", [with_row(), with_row(model_name="xgboost")], "200",
                 id="batch"),
    pytest.param("post", "/predict", with_row(model_name="nope"), "400", id="unknown model"),
    pytest.param("post", "/predict", {"features": [1]}, "422", id="invalid input"),
    pytest.param("post", "/predict/batch", [with_row()] * 1001, "413", id="batch too large"),
    pytest.param("post", "/v2/models/{name}/infer", tensor(), "200", id="infer"),
    pytest.param("post", "/v2/models/{name}/infer", tensor(shape=[3]), "400", id="infer invalid"),
    pytest.param("get", "/v2/models/{name}", None, "200", id="model metadata"),
    pytest.param("get", "/v2/models/{name}/ready", None, "200", id="model ready"),
    pytest.param("get", "/v2", None, "200", id="server metadata"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body", "status"), ANSWERS)
def test_answers_match_the_published_schemas(
    client: TestClient, document: dict[str, Any], method: str, path: str, body: Any, status: str
) -> None:
    answer = client.request(method, path.replace("{name}", "xgboost"), json=body)
    assert answer.status_code == int(status), answer.text
    schema = document["paths"][path][method]["responses"][status]["content"]["application/json"]
    validator(document, schema["schema"]).validate(answer.json())


def test_the_document_follows_the_served_models_and_settings(tmp_path: Path) -> None:
    write_artifact(tmp_path, "narrow", 3, n_features=5)
    settings = Settings(
        artifacts_path=tmp_path, max_batch_rows=7, default_model="narrow", access_log=False
    )
    with TestClient(create_app(settings)) as client:
        document = client.get("/openapi.json").json()
        schemas = document["components"]["schemas"]
        assert schemas["ModelName"]["enum"] == ["narrow"]
        assert schemas["BatchRequest"]["maxItems"] == 7
        features = schemas["PredictRequest"]["properties"]["features"]["oneOf"]
        assert features[0]["minItems"] == features[0]["maxItems"] == 5
        assert [named["required"] for named in features[1:]] == [
            [name_in(name, naming) for name in FEATURE_NAMES[:5]] for naming in NAMINGS
        ]
        assert component(document, "PredictRequest").is_valid({"features": [1] * 5})
        assert client.post("/predict", json={"features": [1] * 5}).status_code == 200
        before = client.get("/openapi.json").json()
        assert client.post("/v2/repository/models/narrow/unload").status_code == 200
        after = client.get("/openapi.json").json()
        # Both sides are parsed documents, so a document that did not change compares equal.
        assert before == document
        assert after != before
        assert after["components"]["schemas"]["ModelName"] == {"type": "string"}
