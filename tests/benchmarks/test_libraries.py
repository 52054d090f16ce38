"""The library variants held against our parts: each does the same job as ours on the same input
(or the comparison would measure something else), and the report renders their figures."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from benchmarks.libraries.json_logging import LibraryRecords, LifecycleFormatter
from benchmarks.libraries.openapi_apispec import apispec_document
from benchmarks.libraries.prometheus_metrics import PrometheusMetrics
from benchmarks.libraries.report import write_markdown
from benchmarks.libraries.settings_variants import pydantic_from_env, starlette_from_env
from benchmarks.libraries.variants import VARIANTS
from server.metrics.recorder import Metrics
from server.model import session_options
from server.openapi import openapi_document
from server.repository import load_repository
from server.request_records import Record, RequestRecords
from server.settings import Settings, SettingsError
from tests.server.artifact_builder import write_repository
from tests.server.test_metrics import sample

ENVIRONMENTS = [
    pytest.param({}, id="nothing set"),
    pytest.param({"ARTIFACTS_PATH": "/a", "IDS_PORT": "9000", "LOG_LEVEL": "WARNING",
                  "IDS_SPINNING": "true", "IDS_REQUEST_TIMEOUT_SECONDS": "2.5",
                  "IDS_AUTH_TOKENS": "one,two"}, id="aliases, numbers, flags, tokens"),
]  # fmt: skip


@pytest.mark.parametrize("environ", ENVIRONMENTS)
@pytest.mark.parametrize(
    "reader",
    [
        pytest.param(starlette_from_env, id="starlette"),
        pytest.param(pydantic_from_env, id="pydantic"),
    ],
)
def test_settings_variants_read_what_ours_reads(environ: dict[str, str], reader: Any) -> None:
    assert reader(environ) == Settings.from_env(environ)


@pytest.mark.parametrize(
    "reader",
    [
        pytest.param(starlette_from_env, id="starlette"),
        pytest.param(pydantic_from_env, id="pydantic"),
    ],
)
def test_settings_variants_refuse_what_ours_refuses(reader: Any) -> None:
    with pytest.raises(SettingsError):
        reader({"IDS_PORT": "70000"})


def test_apispec_builds_our_document(tmp_path: Path) -> None:
    registry = load_repository(write_repository(tmp_path, versions=1), session_options(1, False))
    for settings in (Settings(), Settings(auth_tokens=("token",))):
        assert apispec_document(registry, settings) == openapi_document(registry, settings)


def test_prometheus_variant_counts_what_ours_counts(tmp_path: Path) -> None:
    texts = []
    for kind, folder in ((Metrics, tmp_path / "ours"), (PrometheusMetrics, tmp_path / "lib")):
        folder.mkdir()
        metrics: Any = kind(folder)
        metrics.values[metrics.in_flight_slot] += 1.0
        metrics.run("random_forest", "2", 0.00002)
        metrics.request("/predict", "random_forest", 200, 0.0003, 1)
        metrics.request("/predict/batch", "random_forest", 200, 0.002, 7)
        metrics.model_loads.inc(("random_forest", "loaded"))
        texts.append(metrics.render().decode())
        metrics.close()
    for text in texts:
        assert sample(text, "ids_requests_total", route="/predict", model="random_forest",
                      status="200") == 1  # fmt: skip
        assert sample(text, "ids_request_duration_seconds_bucket", route="/predict",
                      le="0.0005") == 1  # fmt: skip
        assert sample(text, "ids_request_rows_sum", route="/predict/batch") == 7
        assert sample(text, "ids_inference_duration_seconds_count", model="random_forest",
                      version="2") == 1  # fmt: skip
        assert sample(text, "ids_model_loads_total", model="random_forest", result="loaded") == 1
        assert sample(text, "ids_requests_in_flight") == 1
        assert sample(text, "ids_workers") == 1


RECORD: Record = (
    1.7e9, 0.00011, 200, "POST", "/predict", [("random_forest", "2", 1, 0.00001)], b"abc-1",
    "/predict", ("127.0.0.1", 5000), None,
)  # fmt: skip


def _given(metrics: Metrics) -> Callable[[], Metrics]:
    return lambda: metrics


def test_json_logger_variant_writes_our_access_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines: list[dict[str, Any]] = []
    for kind in (RequestRecords, LibraryRecords):
        out = io.StringIO()
        monkeypatch.setattr(sys, "stdout", out)
        metrics = Metrics(None)
        records = kind(_given(metrics), "info", True)
        records.add(RECORD)
        metrics.close()
        lines.append(json.loads(out.getvalue()))
    # The library stamps a line when it is logged (the batch's flush, up to 5 ms later), ours
    # when the request was answered: every other field is the same.
    ours, library = ({k: v for k, v in line.items() if k != "ts"} for line in lines)
    assert ours == library
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", lines[1]["ts"])


def test_json_logger_variant_formats_lifecycle_events() -> None:
    record = logging.LogRecord("server", logging.WARNING, __file__, 1, "slow", (), None)
    record.event, record.cores = "oversubscribed", 2
    line = json.loads(LifecycleFormatter().format(record))
    assert (line["event"], line["level"], line["cores"], line["logger"]) == (
        "oversubscribed",
        "warning",
        2,
        "server",
    )


def test_every_variant_names_its_tests() -> None:
    root = Path(__file__).resolve().parents[2]
    for variant in VARIANTS.values():
        assert variant.tests
        assert all((root / test).is_file() for test in variant.tests)


def test_report_renders_every_section(tmp_path: Path) -> None:
    comparison = {
        "what": "x",
        "ours_median_us": 1.0,
        "library_median_us": 3.0,
        "difference_us_median": 2.0,
        "difference_us_min": 1.5,
        "difference_us_max": 2.5,
    }
    http = {
        "ours_rps_median": 9000.0,
        "library_rps_median": 8000.0,
        "cpu_us_per_request_median": 13.9,
        "cpu_us_per_request_min": 10.0,
        "cpu_us_per_request_max": 15.0,
        "proc_cpu_us_per_request_median": 12.0,
        "proc_cpu_us_per_request_min": 11.0,
        "proc_cpu_us_per_request_max": 13.0,
        "ours_proc_cpu_us_median": 80.0,
        "library_proc_cpu_us_median": 92.0,
        "p50_difference_us_median": 5.0,
        "p50_difference_us_min": 1.0,
        "p50_difference_us_max": 9.0,
        "ours_rss_mb": 80.0,
        "library_rss_mb": 82.0,
        "errors": 0,
    }
    workers = {
        "ready_s": 1.0,
        "supervisor_rss_mb": 20.0,
        "workers_rss_mb": [80.0, 81.0],
        "replaced_after_kill_s": 1.2,
        "sigterm_exit_status": 0,
        "sigterm_exit_s": 0.5,
        "unpickled": [],
    }
    results = {
        "meta": {"date": "2026-12-06", "revision": "abc", "machine": {"cpu": "cpu", "cores": 2},
                 "rounds": 10, "versions": {"apispec": "6.10.1"}},
        "in_process": {"prometheus_client": comparison},
        "http": {"prometheus_client": http},
        "workers": {"ours": workers, "gunicorn": {**workers, "replaced_after_kill_s": None}},
        "off_path": {"starlette_config": comparison, "pydantic_settings": comparison,
                     "apispec": comparison,
                     "imports": {"apispec": {"import_ms": 5.0, "rss_mb": 1.0}}},
        "tests": {"apispec": {"files": ["tests/x.py"], "passed": 3, "skipped": 0,
                              "failures": [{"test": "x::y", "reason": "assert 1 == 2"}]}},
    }  # fmt: skip
    write_markdown(results, tmp_path / "libraries.md")
    text = (tmp_path / "libraries.md").read_text()
    assert "| x (prometheus_client) | 1.00 | 3.00 | 2.00 (1.50 to 2.50) |" in text
    assert "13.90 (10.00 to 15.00)" in text
    assert "no (20 s)" in text
    assert "`x::y`: assert 1 == 2" in text
