"""Each limit's status: body size and rows (413), concurrency (503 with Retry-After), the request
timeout (504). The keep-alive timeout is checked on a real server (test_live_server)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from tests.server.test_metrics import sample

ROW = [1.0] * 78
SLOW_BATCH = [{"features": ROW, "model_name": "slow"}] * 1000  # about a second


def test_body_size_limit(repository: Path) -> None:
    settings = Settings(artifacts_path=repository, max_body_bytes=2000)
    with TestClient(create_app(settings)) as client:
        assert client.post("/predict", json={"features": ROW}).status_code == 200
        big = {"features": ROW, "padding": "x" * 2000}
        for path in ("/predict", "/predict/batch", "/v2/models/xgboost/infer"):
            answer = client.post(path, json=big)
            assert answer.status_code == 413, path
            assert answer.json()["error"] == "Request body larger than 2000 bytes"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        pytest.param("/predict/batch", [{"features": ROW}] * 6, id="JSON batch"),
        pytest.param("/v2/models/xgboost/infer",
                     {"inputs": [{"name": "features", "datatype": "FP64", "shape": [6, 78],
                                  "data": ROW * 6}]}, id="v2"),
    ],
)  # fmt: skip
def test_rows_limit(repository: Path, path: str, body: Any) -> None:
    settings = Settings(artifacts_path=repository, max_batch_rows=5)
    with TestClient(create_app(settings)) as client:
        answer = client.post(path, json=body)
    assert answer.status_code == 413
    assert "5" in answer.json()["error"]


@pytest.fixture
def busy(slow_repository: Path) -> Iterator[tuple[TestClient, list[httpx2.Response]]]:
    """A server allowed one request at a time, busy with a slow batch."""
    settings = Settings(artifacts_path=slow_repository, max_concurrency=1, max_batch_rows=1000)
    with TestClient(create_app(settings)) as client:
        answers: list[httpx2.Response] = []
        worker = threading.Thread(
            target=lambda: answers.append(client.post("/predict/batch", json=SLOW_BATCH))
        )
        worker.start()
        deadline = time.monotonic() + 10
        while sample(client.get("/metrics").text, "ids_requests_in_flight") < 2:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        yield client, answers
        worker.join()


def test_concurrency_limit_answers_503_at_once(
    busy: tuple[TestClient, list[httpx2.Response]],
) -> None:
    client, answers = busy
    refused = client.post("/predict", json={"features": ROW})
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["error"] == "Busy: 1 requests in progress; retry shortly"
    assert "x-request-id" in refused.headers
    v2 = client.post("/v2/models/random_forest/infer", json={"inputs": []})
    assert v2.status_code == 503
    assert set(v2.json()) == {"error"}
    for probe in ("/health", "/v2/health/live", "/v2/health/ready", "/metrics"):
        assert client.get(probe).status_code == 200, probe  # never refused
    metrics = client.get("/metrics").text
    assert sample(metrics, "ids_requests_total", route="/predict", model="", status="503") == 1
    assert sample(metrics, "ids_requests_total", route="/v2/models/{name}/infer", model="",
                  status="503") == 1  # fmt: skip
    while not answers:
        time.sleep(0.01)
    assert answers[0].status_code == 200  # the request in progress was not disturbed


def test_request_timeout_answers_504(slow_repository: Path) -> None:
    settings = Settings(
        artifacts_path=slow_repository, request_timeout_seconds=0.2, max_batch_rows=1000
    )
    with TestClient(create_app(settings)) as client:
        started = time.monotonic()
        answer = client.post("/predict/batch", json=SLOW_BATCH, headers={"x-request-id": "t-1"})
        assert time.monotonic() - started < 0.9  # answered at the deadline, not after the run
        assert answer.status_code == 504
        assert answer.json()["error"] == "The request took longer than the 0.2 s timeout"
        assert answer.headers["x-request-id"] == "t-1"
        tensor = {"name": "features", "datatype": "FP64", "shape": [1000, 78], "data": ROW * 1000}
        v2 = client.post("/v2/models/slow/infer", json={"inputs": [tensor]})
        assert v2.status_code == 504
        assert set(v2.json()) == {"error"}
        assert client.post("/predict", json={"features": ROW}).status_code == 200
        metrics = client.get("/metrics").text
    assert sample(metrics, "ids_requests_total", route="/predict/batch", model="",
                  status="504") == 1  # fmt: skip
