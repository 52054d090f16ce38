"""Payloads and the floor: every body decodes back to the rows it was built from."""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

import numpy as np
import orjson
import pytest
from starlette.testclient import TestClient

from benchmarks import payloads
from benchmarks.floor_service import create_app, parse_body_option
from models.features import FEATURE_NAMES
from tests.benchmarks.conftest import make_rows

ROWS, _ = make_rows(5, seed=3)


def test_single_and_batch_json_carry_the_rows() -> None:
    single = orjson.loads(payloads.single_json(ROWS[0], "xgboost"))
    assert single == {"features": ROWS[0].tolist(), "model_name": "xgboost"}
    batch = orjson.loads(payloads.batch_json(ROWS, "random_forest"))
    assert [flow["features"] for flow in batch] == ROWS.tolist()
    assert {flow["model_name"] for flow in batch} == {"random_forest"}


def test_csv_has_the_feature_header_and_every_row() -> None:
    lines = list(csv.reader(io.StringIO(payloads.batch_csv(ROWS, FEATURE_NAMES).decode())))
    assert lines[0] == list(FEATURE_NAMES)
    assert np.array(lines[1:], dtype=np.float64).tolist() == ROWS.tolist()


def test_v2_json_is_one_fp64_tensor() -> None:
    body = orjson.loads(payloads.v2_json(ROWS))
    (tensor,) = body["inputs"]
    assert (tensor["name"], tensor["datatype"], tensor["shape"]) == ("features", "FP64", [5, 78])
    assert np.reshape(tensor["data"], (5, 78)).tolist() == ROWS.tolist()


def test_v2_binary_header_then_little_endian_rows() -> None:
    body, headers = payloads.v2_binary(ROWS)
    size = int(headers["Inference-Header-Content-Length"])
    header = orjson.loads(body[:size])
    (tensor,) = header["inputs"]
    assert tensor["parameters"]["binary_data_size"] == len(body) - size == 5 * 78 * 8
    assert np.frombuffer(body[size:], dtype="<f8").reshape(5, 78).tolist() == ROWS.tolist()
    assert all(o["parameters"]["binary_data"] for o in header["outputs"])


def test_floor_answers_each_route_its_constant_body(tmp_path: Path) -> None:
    bodies = {"/predict": b'{"prediction": "BENIGN"}', "/predict/batch": b'{"results": []}'}
    with TestClient(create_app(bodies)) as client:
        for path, body in bodies.items():
            answer = client.post(path, content=payloads.single_json(ROWS[0], "random_forest"))
            assert answer.status_code == 200
            assert answer.headers["content-type"] == "application/json"
            assert orjson.loads(answer.content) == orjson.loads(body)
        assert client.get("/v2/health/ready").status_code == 200
        assert client.post("/elsewhere", content=b"{}").status_code == 404


@pytest.mark.parametrize(
    "option",
    [pytest.param("predict=x.json", id="no leading slash"), pytest.param("/predict", id="no file")],
)
def test_floor_body_option_is_checked(option: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="/path=FILE"):
        parse_body_option(option)
