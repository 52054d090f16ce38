"""Arbitrary input never escapes a decoder as anything but a client error (never a 500)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server import legacy, openinference
from server.codecs.flows_csv import decode_csv
from server.codecs.json_body import decode_json
from server.errors import InvalidInput, ModelNotFound, PayloadTooLarge
from server.model import session_options
from server.repository import Registry, load_repository

CLIENT_ERRORS = (InvalidInput, ModelNotFound, PayloadTooLarge)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=80) | st.dictionaries(st.text(max_size=20), inner),
    max_leaves=200,
)


@pytest.fixture(scope="module")
def registry(repository: Path) -> Registry:
    return load_repository(repository, session_options(1, False))


@FUZZ
@given(body=st.binary(max_size=300))
def test_json_bodies(body: bytes) -> None:
    with contextlib.suppress(InvalidInput):
        decode_json(body)


@FUZZ
@given(payload=json_values)
def test_predict_and_batch_payloads(registry: Registry, payload: Any) -> None:
    for decode in (
        lambda: legacy.decode_predict(payload, registry, "random_forest"),
        lambda: legacy.decode_batch(payload, registry, "random_forest", 1000),
        lambda: legacy.decode_predict({"features": payload}, registry, "xgboost"),
    ):
        with contextlib.suppress(*CLIENT_ERRORS):
            decode()


csv_text = st.lists(
    st.lists(
        st.sampled_from(["1", " 2.5", "Infinity", "NaN", "", "x", '"3"', "Flow ID"]), max_size=90
    ),
    max_size=5,
).map(lambda rows: "\n".join(",".join(row) for row in rows).encode())


@FUZZ
@given(body=st.binary(max_size=400) | csv_text)
def test_csv_bodies(registry: Registry, body: bytes) -> None:
    header = ",".join(registry.get("random_forest").schema.names).encode() + b"\n"
    for candidate in (body, header + body):
        with contextlib.suppress(*CLIENT_ERRORS):
            decode_csv(candidate, registry.get("random_forest").schema, 1000)


@FUZZ
@given(document=json_values, tail=st.binary(max_size=64), cut=st.integers(-5, 400))
def test_v2_requests(registry: Registry, document: Any, tail: bytes, cut: int) -> None:
    model = registry.get("xgboost")
    head = json.dumps(document).encode()
    for body, length in ((head, None), (head + tail, len(head)), (head + tail, cut)):
        with contextlib.suppress(*CLIENT_ERRORS):
            openinference.decode(model, body, length, 1000)


@FUZZ
@given(
    rows=st.integers(1, 3),
    datatype=st.sampled_from(["FP64", "FP32", "FP16", "INT32", "UINT8", "BYTES", "FP8"]),
    data=st.lists(st.floats() | st.integers(-(2**70), 2**70), max_size=240),
    binary=st.booleans(),
)
def test_v2_tensors(
    registry: Registry, rows: int, datatype: str, data: list[Any], binary: bool
) -> None:
    model = registry.get("random_forest")
    tensor: dict[str, Any] = {"name": "features", "datatype": datatype, "shape": [rows, 78]}
    tail = b""
    if binary:
        tail = json.dumps(data).encode()
        tensor["parameters"] = {"binary_data_size": len(tail)}
    else:
        tensor["data"] = data
    head = json.dumps({"inputs": [tensor]}).encode()
    with contextlib.suppress(*CLIENT_ERRORS):
        openinference.decode(model, head + tail, len(head) if binary else None, 1000)
