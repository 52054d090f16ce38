"""Metrics: the shared-memory store, the Prometheus text, and the series moving with requests."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.metrics.exposition import aggregate, render
from server.metrics.recorder import Metrics
from server.metrics.store import read_directory
from server.model import session_options
from server.repository import load_repository
from server.settings import Settings
from tests.server.conftest import Rows


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one series in a Prometheus text page (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        found_name, _, label_text = series.partition("{")
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', label_text))
        if found_name == name and found == labels:
            return float(value)
    return 0.0


def test_processes_add_up_and_the_dead_keep_their_counts(tmp_path: Path) -> None:
    first, second = Metrics(tmp_path), Metrics(tmp_path)
    first.request("/predict", "random_forest", 200, 0.0003, 1)
    second.request("/predict", "random_forest", 200, 0.002, 1)
    second.request("/predict", "random_forest", 422, 0.0001, 0)
    second.run("random_forest", "2", 0.00002)
    second.values[second.in_flight_slot] += 3  # three requests in progress there
    text = first.render().decode()
    assert sample(text, "ids_requests_total", route="/predict", model="random_forest",
                  status="200") == 2  # fmt: skip
    assert sample(text, "ids_request_duration_seconds_count", route="/predict") == 3
    assert sample(text, "ids_request_duration_seconds_bucket", route="/predict", le="0.0005") == 2
    assert sample(text, "ids_request_duration_seconds_sum", route="/predict") == pytest.approx(
        0.0024
    )
    assert sample(text, "ids_request_rows_count", route="/predict") == 2  # the 422 ran no rows
    assert sample(text, "ids_inference_duration_seconds_count", model="random_forest",
                  version="2") == 1  # fmt: skip
    assert sample(text, "ids_requests_in_flight") == 3
    assert sample(text, "ids_workers") == 2
    second.close()  # the process is gone: its counts stay, its gauges go
    text = first.render().decode()
    assert sample(text, "ids_request_duration_seconds_count", route="/predict") == 3
    assert sample(text, "ids_requests_in_flight") == 0
    assert sample(text, "ids_workers") == 1
    first.close()


def test_text_format_is_well_formed(tmp_path: Path) -> None:
    metrics = Metrics(tmp_path)
    metrics.request('/odd"route\\', "m\nodel", 200, 20.0, 70000)
    text = metrics.render().decode()
    metrics.close()
    families = re.findall(r"^# TYPE (\w+) (counter|gauge|histogram)$", text, re.MULTILINE)
    assert {name for name, _ in families} >= {
        "ids_requests_total", "ids_request_duration_seconds", "ids_request_rows",
        "ids_inference_duration_seconds", "ids_requests_in_flight", "ids_workers",
        "ids_model_info", "ids_model_loads_total",
    }  # fmt: skip
    assert 'route="/odd\\"route\\\\",model="m\\nodel"' in text  # escaped, one line
    assert sample(text, "ids_request_duration_seconds_bucket", route='/odd\\"route\\\\',
                  le="+Inf") == 1  # fmt: skip
    assert sample(text, "ids_request_rows_bucket", route='/odd\\"route\\\\', le="50000.0") == 0
    for line in text.splitlines():
        assert line.startswith("#") or re.fullmatch(r"[a-z_]+(\{.*\})? [0-9.e+-]+", line), line


def test_a_full_store_drops_new_series_instead_of_failing(tmp_path: Path) -> None:
    metrics = Metrics(tmp_path)
    for number in range(2000):  # each new route takes 38 slots: the store fills up
        metrics.request(f"/route/{number}", "", 200, 0.001, 1)
    series = next(read_directory(tmp_path, metrics.store)).series
    metrics.close()
    assert 300 < len(series) < 2000


def test_info_metric_follows_the_loaded_versions(tmp_path: Path, repository: Path) -> None:
    registry = load_repository(repository, session_options(1, False))
    metrics = Metrics(tmp_path)
    metrics.models_changed(registry.every_version())
    assert metrics.render().count(b"ids_model_info{") == 6
    metrics.models_changed(registry)  # the latest versions only: every version 1 went
    text = render(aggregate(read_directory(tmp_path, metrics.store))).decode()
    metrics.close()
    assert text.count("ids_model_info{") == 3
    latest = registry.get("random_forest")
    labels = {"model": "random_forest", "version": "2", "sha256": latest.manifest.sha256}
    assert sample(text, "ids_model_info", **labels) == 1


def test_series_move_with_requests(settings: Settings, flows: Rows) -> None:
    with TestClient(create_app(settings)) as client:
        before = client.get("/metrics")
        assert before.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
        for row in flows[2:5]:
            client.post("/predict", json={"features": row.tolist(), "model_name": "xgboost"})
        client.post("/predict", json={"features": [1.0] * 77})
        client.post(
            "/predict/batch",
            json=[{"features": flows[5].tolist(), "model_version": 1}] * 7,
        )
        client.get("/nowhere")
        text = client.get("/metrics").text
    assert sample(text, "ids_requests_total", route="/predict", model="xgboost",
                  status="200") == 3  # fmt: skip
    assert sample(text, "ids_requests_total", route="/predict", model="", status="422") == 1
    assert sample(text, "ids_requests_total", route="/predict/batch", model="random_forest",
                  status="200") == 1  # fmt: skip
    assert sample(text, "ids_requests_total", route="unmatched", model="", status="404") == 1
    assert sample(text, "ids_requests_total", route="/metrics", model="", status="200") == 1
    assert sample(text, "ids_request_rows_sum", route="/predict/batch") == 7
    assert sample(text, "ids_request_rows_bucket", route="/predict/batch", le="10.0") == 1
    assert sample(text, "ids_request_rows_bucket", route="/predict/batch", le="5.0") == 0
    assert sample(text, "ids_inference_duration_seconds_count", model="random_forest",
                  version="1") == 1  # fmt: skip
    assert sample(text, "ids_inference_duration_seconds_count", model="xgboost",
                  version="2") == 3  # fmt: skip
    assert sample(text, "ids_request_duration_seconds_count", route="/predict") == 4
    assert sample(text, "ids_requests_in_flight") == 1  # the scrape itself
    registry = client.app.state.serving.registry  # type: ignore[attr-defined]
    sha256 = registry.get("xgboost", "1").manifest.sha256
    assert sample(text, "ids_model_info", model="xgboost", version="1", sha256=sha256) == 1
    assert text.count("ids_model_info{") == 6  # three models, two versions each
