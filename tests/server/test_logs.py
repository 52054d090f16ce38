"""Structured logs: the access-log line, request ids, lifecycle events as JSON."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.logs import JsonFormatter, event
from server.settings import Settings
from tests.server.conftest import Rows

ACCESS_FIELDS = {
    "ts", "level", "event", "request_id", "method", "route", "model", "version", "rows",
    "status", "duration_ms", "client",
}  # fmt: skip


def access_lines(captured: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in captured.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == "request"]


def test_one_line_per_request_with_its_fields(
    settings: Settings, flows: Rows, capsys: pytest.CaptureFixture[str]
) -> None:
    with TestClient(create_app(settings)) as client:
        client.post(
            "/predict",
            json={"features": flows[3].tolist(), "model_name": "xgboost", "model_version": "1"},
            headers={"x-request-id": "flow-batch-7"},
        )
        client.post("/v2/models/decision_tree/versions/2/infer", json={"inputs": []})
        client.post("/predict/batch", json=[{"features": flows[4].tolist()}] * 3)
        client.get("/health")
        client.get("/v2/health/ready")
        client.get("/v2/health/live")
        client.get("/metrics")
    lines = access_lines(capsys.readouterr().out)
    assert [line["route"] for line in lines] == [
        "/predict",
        "/v2/models/{name}/versions/{version}/infer",
        "/predict/batch",
    ]  # health probes and /metrics are not logged
    predict, infer, batch = lines
    assert set(predict) == ACCESS_FIELDS
    assert predict["request_id"] == "flow-batch-7"
    assert (predict["model"], predict["version"], predict["rows"]) == ("xgboost", "1", 1)
    assert (predict["method"], predict["status"], predict["level"]) == ("POST", 200, "info")
    assert predict["client"] == "testclient"
    assert predict["duration_ms"] > 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", predict["ts"])
    # A refused request names the model and version it asked for, and ran no rows.
    assert (infer["model"], infer["version"], infer["rows"], infer["status"]) == (
        "decision_tree",
        "2",
        0,
        400,
    )
    assert (batch["model"], batch["version"], batch["rows"]) == ("random_forest", "2", 3)


def test_level_from_settings(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    quiet = Settings(artifacts_path=settings.artifacts_path, log_level="warning")
    with TestClient(create_app(quiet), raise_server_exceptions=False) as client:
        client.get("/models")
        client.app.state.serving.registry = None  # type: ignore[attr-defined]  # break it: a 500
        client.get("/models")
    lines = access_lines(capsys.readouterr().out)
    assert [(line["status"], line["level"]) for line in lines] == [(500, "error")]


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        pytest.param("req-42.a:b_C", True, id="safe characters"),
        pytest.param("x" * 128, True, id="128 characters"),
        pytest.param("x" * 129, False, id="too long"),
        pytest.param("has space", False, id="space"),
        pytest.param('quote"', False, id="quote"),
        pytest.param("", False, id="empty"),
    ],
)
def test_request_id_round_trip(client: TestClient, given: str, kept: bool) -> None:
    answer = client.get("/models", headers={"x-request-id": given})
    returned = answer.headers["x-request-id"]
    if kept:
        assert returned == given
    else:
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]+", returned)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("GET", "/nowhere", None, id="404"),
        pytest.param("GET", "/predict", None, id="405"),
        pytest.param("POST", "/predict", {"features": []}, id="422"),
        pytest.param("POST", "/v2/models/svm/infer", {}, id="v2 404"),
        pytest.param("GET", "/v2/health/live", None, id="probe"),
    ],
)
def test_every_answer_carries_a_request_id(
    client: TestClient, method: str, path: str, body: Any
) -> None:
    first = client.request(method, path, json=body)
    second = client.request(method, path, json=body)
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    echoed = client.request(method, path, json=body, headers={"x-request-id": "mine-1"})
    assert echoed.headers["x-request-id"] == "mine-1"


def test_lifecycle_events_are_json_lines(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="server"), TestClient(create_app(settings)):
        pass
    events = {record.event: record for record in caplog.records if hasattr(record, "event")}
    assert {"startup", "shutdown"} <= set(events)
    line = json.loads(JsonFormatter().format(events["startup"]))
    assert line["event"] == "startup"
    assert line["level"] == "info"
    assert set(line["models"]) == {f"{m}/{v}" for m in ("decision_tree", "random_forest",
                                   "xgboost") for v in "12"}  # fmt: skip


def test_formatter_carries_fields_and_the_traceback() -> None:
    logger = logging.getLogger("tests.logs")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign,assignment]
    logger.addHandler(handler)
    try:
        raise ValueError("boom")
    except ValueError as error:
        event(logger, "model_load_failed", "cannot load", logging.ERROR, exc_info=error,
              model="xgboost", version="3")  # fmt: skip
    finally:
        logger.removeHandler(handler)
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["event"] == "model_load_failed"
    assert (line["model"], line["version"], line["level"]) == ("xgboost", "3", "error")
    assert line["exception"].startswith("Traceback")
    assert "ValueError: boom" in line["exception"]
    assert "\n" not in JsonFormatter().format(records[0])
