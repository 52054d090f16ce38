"""Per-request cost measured in this process: the exact code each part runs per request, ours and
the library's, timed in alternating blocks (drift on a shared machine hits both alike)."""

from __future__ import annotations

import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.metrics.recorder import Metrics
from server.request_records import Record, RequestRecords


@dataclass(frozen=True)
class Comparison:
    """Microseconds per request of ours and the library's, per round; the difference."""

    what: str
    ours_us: tuple[float, ...]
    library_us: tuple[float, ...]

    @property
    def differences_us(self) -> list[float]:
        return [lib - ours for ours, lib in zip(self.ours_us, self.library_us, strict=True)]

    def summary(self) -> dict[str, float]:
        differences = sorted(self.differences_us)
        return {
            "ours_median_us": statistics.median(self.ours_us),
            "library_median_us": statistics.median(self.library_us),
            "difference_us_median": statistics.median(differences),
            "difference_us_min": differences[0],
            "difference_us_max": differences[-1],
        }


def alternate(
    ours: Callable[[], object], library: Callable[[], object], per_block: int, rounds: int
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Microseconds per call of each, one block of `per_block` calls each per round."""
    timings: tuple[list[float], list[float]] = ([], [])
    for call in (ours, library):  # warm
        for _ in range(per_block):
            call()
    gc.collect()
    gc.disable()
    try:
        for _ in range(rounds):
            for call, times in zip((ours, library), timings, strict=True):
                start = time.perf_counter_ns()
                for _ in range(per_block):
                    call()
                times.append((time.perf_counter_ns() - start) / per_block / 1000)
    finally:
        gc.enable()
    return tuple(timings[0]), tuple(timings[1])


def metrics_per_request(rounds: int = 20) -> Comparison:
    """What one single-row prediction costs the metrics: the in-flight gauge up and down (in
    the middleware), then its onnxruntime run and the request (in the batched flush)."""
    from benchmarks.libraries.prometheus_metrics import PrometheusMetrics

    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
        stores: list[Any] = [Metrics(Path(one)), PrometheusMetrics(Path(two))]

        def request(metrics: Any) -> Callable[[], None]:
            values, slot = metrics.values, metrics.in_flight_slot

            def call() -> None:
                values[slot] += 1.0
                values[slot] -= 1.0
                metrics.run("random_forest", "2", 0.000012)
                metrics.request("/predict", "random_forest", 200, 0.00011, 1)

            return call

        ours, library = alternate(request(stores[0]), request(stores[1]), 5000, rounds)
        for metrics in stores:
            metrics.close()
    return Comparison("metrics: in-flight gauge, run, request", ours, library)


RECORD: Record = (
    0.0, 0.00011, 200, "POST", "/predict", [("random_forest", "2", 1, 0.000012)], b"1b6efed2-2a",
    "/predict", ("127.0.0.1", 51234), None,
)  # fmt: skip


@contextmanager
def _stdout_to_null() -> Iterator[None]:
    real = sys.stdout
    with open("/dev/null", "w") as null:  # a text stream with a .buffer
        sys.stdout = null
        try:
            yield
        finally:
            sys.stdout = real


def access_log_per_request(rounds: int = 20, batch: int = 64) -> Comparison:
    """One access-log line and the request's metrics, in batches of `batch` as the flush runs
    them (the metrics are ours in both: the difference is the line's making and writing)."""
    from benchmarks.libraries.json_logging import LibraryRecords

    with tempfile.TemporaryDirectory() as folder, _stdout_to_null():
        metrics = Metrics(Path(folder))
        now = time.time()
        records = [(now + index * 1e-4, *RECORD[1:]) for index in range(batch)]
        ours_records = RequestRecords(lambda: metrics, "info", True)
        library_records = LibraryRecords(lambda: metrics, "info", True)

        def flush(target: RequestRecords) -> Callable[[], None]:
            def call() -> None:
                target._pending = list(records)
                target.flush()

            return call

        ours, library = alternate(flush(ours_records), flush(library_records), 40, rounds)
        metrics.close()
    return Comparison(
        "access log: one line (and the request's metrics, ours in both)",
        tuple(us / batch for us in ours),
        tuple(us / batch for us in library),
    )
