"""`server.metrics` done with prometheus_client in multiprocess mode, behind the same interface
as `server.metrics.recorder.Metrics`, so the server runs unchanged on top of it.

Used the way the library's documentation says: one value file per process and metric type in
`PROMETHEUS_MULTIPROC_DIR` (here the server's state folder), a fresh `CollectorRegistry` with a
`MultiProcessCollector` per scrape, `livesum` gauges whose dead processes the supervisor reports
with `mark_process_dead` (see `LibrarySupervisor`). The labelled children are looked up once per
label combination and kept, as ours keeps its slots: the library's best case on the request path.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

from server.metrics.families import (
    IN_FLIGHT,
    INFERENCE_SECONDS,
    MODEL_INFO,
    MODEL_LOADS,
    REQUEST_ROWS,
    REQUEST_SECONDS,
    REQUESTS,
    WORKERS,
)
from server.model import Model
from server.supervisor import Supervisor, Worker

ENVIRONMENT = "PROMETHEUS_MULTIPROC_DIR"


class _GaugeSlot:
    """The middleware moves the in-flight gauge with `values[slot] += 1.0`: here that becomes
    one `Gauge.set` (a lock and a store into the library's mapped file), what `Gauge.inc` costs."""

    __slots__ = ("_gauge", "_value")

    def __init__(self, gauge: Gauge) -> None:
        self._gauge = gauge
        self._value = 0.0

    def __getitem__(self, slot: int) -> float:
        return self._value

    def __setitem__(self, slot: int, value: float) -> None:
        self._value = value
        self._gauge.set(value)


class _Loads:
    """`metrics.model_loads.inc((model, result))`, as the reloader calls it."""

    def __init__(self, counter: Counter) -> None:
        self._counter = counter

    def inc(self, labels: tuple[str, ...] = (), amount: float = 1.0) -> None:
        self._counter.labels(*labels).inc(amount)


class PrometheusMetrics:
    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        if directory is not None:
            # The library picks its value class from this variable when a metric is made.
            os.environ[ENVIRONMENT] = str(directory)
            values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
        else:
            values.ValueClass = values.MutexValue
        self._own = CollectorRegistry(auto_describe=False)
        registry = self._own if directory is None else None

        def made(metric: Any) -> Any:
            if registry is not None:
                registry.register(metric)
            return metric

        self._requests = made(
            Counter("ids_requests", REQUESTS.help, REQUESTS.labels, registry=None)
        )
        self._request_seconds = made(
            Histogram(
                REQUEST_SECONDS.name,
                REQUEST_SECONDS.help,
                REQUEST_SECONDS.labels,
                buckets=REQUEST_SECONDS.buckets,
                registry=None,
            )
        )
        self._request_rows = made(
            Histogram(
                REQUEST_ROWS.name,
                REQUEST_ROWS.help,
                REQUEST_ROWS.labels,
                buckets=REQUEST_ROWS.buckets,
                registry=None,
            )
        )
        self._inference_seconds = made(
            Histogram(
                INFERENCE_SECONDS.name,
                INFERENCE_SECONDS.help,
                INFERENCE_SECONDS.labels,
                buckets=INFERENCE_SECONDS.buckets,
                registry=None,
            )
        )
        in_flight = made(
            Gauge(IN_FLIGHT.name, IN_FLIGHT.help, multiprocess_mode="livesum", registry=None)
        )
        workers = made(
            Gauge(WORKERS.name, WORKERS.help, multiprocess_mode="livesum", registry=None)
        )
        self._model_info = made(
            Gauge(
                MODEL_INFO.name,
                MODEL_INFO.help,
                MODEL_INFO.labels,
                multiprocess_mode="livemax",
                registry=None,
            )
        )
        self.model_loads = _Loads(
            made(Counter("ids_model_loads", MODEL_LOADS.help, MODEL_LOADS.labels, registry=None))
        )
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any, Any]] = {}
        self._run_children: dict[tuple[str, str], Any] = {}
        self._shown: set[tuple[str, str, str]] = set()
        self.values = _GaugeSlot(in_flight)
        self.in_flight_slot = 0
        workers.set(1.0)

    def request(self, route: str, model: str, status: int, seconds: float, rows: int) -> None:
        children = self._request_children.get((route, model, status))
        if children is None:
            children = self._request_children[route, model, status] = (
                self._requests.labels(route, model, str(status)),
                self._request_seconds.labels(route),
                self._request_rows.labels(route),
            )
        count, latency, sizes = children
        count.inc()
        latency.observe(seconds)
        if rows:
            sizes.observe(rows)

    def run(self, model: str, version: str, seconds: float) -> None:
        child = self._run_children.get((model, version))
        if child is None:
            child = self._run_children[model, version] = self._inference_seconds.labels(
                model, version
            )
        child.observe(seconds)

    def models_changed(self, models: Iterable[Model]) -> None:
        loaded = {(model.name, model.version, model.manifest.sha256) for model in models}
        for labels in loaded - self._shown:
            self._model_info.labels(*labels).set(1.0)
        for labels in self._shown - loaded:
            # Multiprocess mode cannot remove a series: the unloaded version stays, at 0.
            self._model_info.labels(*labels).set(0.0)
        self._shown = loaded

    def render(self) -> bytes:
        if self.directory is None:
            return generate_latest(self._own)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(self.directory))  # type: ignore[no-untyped-call]
        return generate_latest(registry)

    def close(self) -> None:
        if self.directory is not None:
            multiprocess.mark_process_dead(os.getpid(), str(self.directory))  # type: ignore[no-untyped-call]


class LibrarySupervisor(Supervisor):
    """Ours, plus the bookkeeping the library asks of whoever starts the workers: a worker's
    `livesum` gauge files are removed when it dies (gunicorn's `child_exit` hook does this)."""

    def _spawn(self, number: int, failed_starts: int) -> Worker:
        directory = self.settings.state_dir
        for worker in self.workers:
            if directory is not None and worker.process.poll() is not None:
                multiprocess.mark_process_dead(worker.process.pid, str(directory))  # type: ignore[no-untyped-call]
        return super()._spawn(number, failed_starts)
