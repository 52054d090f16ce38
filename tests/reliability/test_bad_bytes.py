"""Arbitrary bytes into every decoder of a real server process, through HTTP: JSON, named
features, CSV, v2 JSON and v2 binary (with every kind of `Inference-Header-Content-Length`),
plain and compressed. Never a 500, a hang (each request has a 10 s timeout) or a crash, and no
error body carries a traceback, a file path or an exception class name.

The decoders' own property tests (tests/server/test_decoders_fuzz.py) call them in process;
these reuse their value strategies and add the HTTP layer: content types, encodings, the header
split, body reading, error rendering."""

from __future__ import annotations

import builtins
import gzip
import json
import re
import socket
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.processes import PROJECT_ROOT, ServerProcess, serving
from models.features import FEATURE_NAMES
from tests.reliability.conftest import Record, profiles
from tests.server.test_decoders_fuzz import csv_text, json_values

ROUTES = [
    "/predict",
    "/predict/batch",
    "/predict/batch?model_name=xgboost",
    "/v2/models/random_forest/infer",
    "/v2/models/xgboost/versions/2/infer",
]
CONTENT_TYPES = [
    None,
    "application/json",
    "application/json; charset=utf-8",
    "application/cloudevents+json",
    "text/csv",
    "application/octet-stream",
    "text/plain",
    "multipart/form-data; boundary=x",
]
# Small limits, so generated requests reach them too.
LIMITS_BYTES = 8192
LIMITS = {"IDS_MAX_BODY_BYTES": str(LIMITS_BYTES), "IDS_MAX_BATCH_ROWS": "3"}
ENCODINGS = [None, "identity", "gzip", "deflate", "br", "gzip, deflate"]
# Exception class names a leaked exception would show: Python's own and the decoders' libraries'.
EXCEPTION_NAMES = sorted(
    {
        name
        for name, value in vars(builtins).items()
        if isinstance(value, type) and issubclass(value, BaseException) and len(name) > 5
    }
    | {"JSONDecodeError", "IncompleteReadError", "InvalidArgument", "Fail", "OrtException"}
)


def leaks(text: str, sent: str, server_paths: list[str]) -> list[str]:
    """Internals an error body shows that the client did not send itself."""
    found = [
        token
        for token in ["Traceback", 'File "', ".py", "site-packages", *server_paths]
        if token in text and token not in sent
    ]
    for name in EXCEPTION_NAMES:
        if re.search(rf"\b{name}\b", text) and name not in sent:
            found.append(name)
    return found


def v2_header(document: Any, tail: bytes) -> tuple[bytes, int]:
    head = json.dumps(document).encode()
    return head + tail, len(head)


def v2_tensor(rows: int, datatype: str, size: int) -> dict[str, Any]:
    return {
        "inputs": [
            {
                "name": "features",
                "datatype": datatype,
                "shape": [rows, 78],
                "parameters": {"binary_data_size": size},
            }
        ]
    }


# Well-formed flows, so that generated requests also reach the models and the row limit.
flow = st.lists(st.floats(), min_size=78, max_size=78)
flows = st.lists(flow, min_size=1, max_size=5)
valid_bodies = st.one_of(
    flow.map(lambda row: json.dumps({"features": row}).encode()),
    flows.map(lambda rows: json.dumps([{"features": row} for row in rows]).encode()),
    flows.map(
        lambda rows: "\n".join(
            [",".join(FEATURE_NAMES), *(",".join(map(str, row)) for row in rows)]
        ).encode()
    ),
    flows.map(
        lambda rows: json.dumps(
            {
                "inputs": [
                    {
                        "name": "features",
                        "datatype": "FP64",
                        "shape": [len(rows), 78],
                        "data": rows,
                    }
                ]
            }
        ).encode()
    ),
)
bodies = st.one_of(
    st.binary(max_size=600),
    st.binary(min_size=LIMITS_BYTES - 8, max_size=LIMITS_BYTES + 8),
    valid_bodies,
    # The standard library's json writes what orjson cannot: integers beyond 64 bits, NaN.
    json_values.map(lambda value: json.dumps(value).encode()),
    st.lists(json_values, max_size=5).map(lambda items: json.dumps({"features": items}).encode()),
    st.dictionaries(st.text(max_size=30), json_values, max_size=80).map(
        lambda named: json.dumps({"features": named, "model_name": "xgboost"}).encode()
    ),
    csv_text,
)
header_lengths = st.one_of(
    st.none(),
    st.integers(-3, 700).map(str),
    # h11 (httpx) sends only legal header values: visible ASCII
    st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=12),
    st.sampled_from(["1e3", "0x10", "+5", "99999999999999999999999", "-0"]),
)


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, dict[str, str], bytes]:
    route = draw(st.sampled_from(ROUTES))
    headers: dict[str, str] = {}
    if draw(st.booleans()) and route.startswith("/v2"):
        rows = draw(st.integers(-1, 5))
        datatype = draw(st.sampled_from(["FP64", "FP32", "INT8", "BYTES"]))
        exact = max(0, rows * 78 * (4 if datatype == "FP32" else 8))
        tail = draw(st.binary(max_size=400) | st.binary(min_size=exact, max_size=exact))
        size = draw(st.sampled_from([len(tail), exact, -1]))
        body, length = v2_header(v2_tensor(rows, datatype, size), tail)
        headers["inference-header-content-length"] = str(draw(st.sampled_from([length, 0, -1])))
    else:
        body = draw(bodies)
        length_header = draw(header_lengths)
        if length_header is not None:
            headers["inference-header-content-length"] = length_header
    # Half the requests carry the type the route reads, so the bodies reach the decoders.
    natural = "text/csv" if body[:3] == b"Des" else "application/json"
    if route.startswith("/v2") and "inference-header-content-length" in headers:
        natural = "application/octet-stream"
    content_type = draw(st.sampled_from(CONTENT_TYPES) | st.just(natural))
    if content_type is not None:
        headers["content-type"] = content_type
    encoding = draw(st.sampled_from(ENCODINGS))
    if encoding is not None:
        headers["content-encoding"] = encoding
        compress = draw(st.sampled_from(["none", "whole", "truncated", "bomb"]))
        if compress == "bomb":  # small on the wire, past the body limit once inflated
            body = b"0" * (LIMITS_BYTES * draw(st.integers(1, 100)))
        if compress != "none":
            packed = gzip.compress(body) if encoding == "gzip" else zlib.compress(body)
            body = packed[: len(packed) // 2] if compress == "truncated" else packed
    return route, headers, body


@pytest.fixture(scope="module")
def served(test_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    log = tmp_path_factory.mktemp("bad-bytes") / "server.log"
    env = {"ARTIFACTS_PATH": str(test_repository), "IDS_LOG_LEVEL": "info", **LIMITS}
    with serving(env, log) as s:
        yield s


@pytest.mark.parametrize("examples", profiles(500, 5000))
def test_arbitrary_requests_get_clean_client_errors(
    served: ServerProcess, test_repository: Path, record: Record, examples: int
) -> None:
    server_paths = [str(PROJECT_ROOT), str(test_repository)]
    statuses: Counter[int] = Counter()

    # derandomize: the same cases every run, so the coverage check below cannot flake (a random
    # run of 500 once drew no request that a decoder accepts, and no 200).
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(request=requests())
    def check(client: httpx.Client, request: tuple[str, dict[str, str], bytes]) -> None:
        route, headers, body = request
        answer = client.post(route, content=body, headers=headers)
        statuses[answer.status_code] += 1
        assert answer.status_code < 500, (answer.status_code, answer.text)
        if answer.status_code >= 400:
            error = answer.json()["error"]
            assert isinstance(error, str)
            sent = body.decode("latin-1") + str(headers) + route
            assert not leaks(answer.text, sent, server_paths), answer.text
        assert served.process.poll() is None, "the server died"

    with httpx.Client(base_url=served.url, timeout=10) as client:
        check(client)
    record("bad_requests", cases=statuses.total(), statuses=dict(sorted(statuses.items())))
    assert "Traceback" not in served.output(), served.output()[-5000:]
    # The generator reaches past the media-type and framing checks into every decoder.
    assert {200, 400, 413, 415, 422} <= set(statuses), statuses


@pytest.mark.parametrize("examples", profiles(200, 2000))
def test_arbitrary_bytes_on_the_socket_never_take_the_server_down(
    served: ServerProcess, record: Record, examples: int
) -> None:
    """Below HTTP: whatever arrives on a connection, the server answers or closes it, and keeps
    serving everyone else."""

    @settings(max_examples=examples, deadline=None, database=None)
    @given(
        data=st.one_of(
            st.binary(max_size=300),
            st.binary(max_size=200).map(lambda junk: b"POST /predict HTTP/1.1\r\n" + junk),
            st.binary(max_size=200).map(
                lambda junk: b"POST /predict HTTP/1.1\r\nContent-Length: 5\r\n\r\n" + junk
            ),
        )
    )
    def check(data: bytes) -> None:
        sent.append(len(data))
        with socket.create_connection(("127.0.0.1", served.port), timeout=10) as raw:
            raw.sendall(data)
            raw.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := raw.recv(65536):
                answer += chunk
        if answer:
            status = answer.split(b" ", 2)[1]
            assert status.isdigit(), answer[:300]
            assert int(status) < 500, answer[:300]
        assert served.process.poll() is None, "the server died"

    sent: list[int] = []
    check()
    record("raw_socket", cases=len(sent), bytes=sum(sent))
    assert httpx.get(served.url + "/health", timeout=10).status_code == 200
