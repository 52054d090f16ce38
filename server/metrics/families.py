"""The metric families the server exposes, and the objects that record into them."""

from __future__ import annotations

from dataclasses import dataclass

from server.metrics.store import ProcessStore

# Server-side latency from 0.1 ms (a single prediction) to 10 s (a large batch on a slow model).
SECONDS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
           1.0, 2.5, 5.0, 10.0)  # fmt: skip
ROWS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    kind: str  # counter, gauge (summed over live processes) or histogram
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()

    @property
    def size(self) -> int:
        """Slots per series: one, or a histogram's buckets, its +Inf bucket and its sum."""
        return len(self.buckets) + 2 if self.kind == "histogram" else 1


REQUESTS = Family(
    "ids_requests_total",
    "counter",
    "HTTP requests answered, by route template, model (several comma-separated for a mixed "
    "batch; empty when none) and status code.",
    ("route", "model", "status"),
)
REQUEST_SECONDS = Family(
    "ids_request_duration_seconds",
    "histogram",
    "Server-side request latency, from the request reaching the application to the last byte "
    "of the answer handed to the server.",
    ("route",),
    SECONDS,
)
REQUEST_ROWS = Family(
    "ids_request_rows",
    "histogram",
    "Rows (flows) per prediction request.",
    ("route",),
    ROWS,
)
INFERENCE_SECONDS = Family(
    "ids_inference_duration_seconds",
    "histogram",
    "Time spent in onnxruntime per run (one run per model per request).",
    ("model", "version"),
    SECONDS,
)
IN_FLIGHT = Family(
    "ids_requests_in_flight", "gauge", "Requests being processed now, across all workers."
)
WORKERS = Family("ids_workers", "gauge", "Live server processes behind this port.")
MODEL_INFO = Family(
    "ids_model_info",
    "gauge",
    "Model versions loaded and served (1), with the sha256 of their ONNX graph.",
    ("model", "version", "sha256"),
)
MODEL_LOADS = Family(
    "ids_model_loads_total",
    "counter",
    "Model version loads since start, by result (loaded, failed); each worker counts its own.",
    ("model", "result"),
)
FAMILIES = {
    family.name: family
    for family in (
        REQUESTS,
        REQUEST_SECONDS,
        REQUEST_ROWS,
        INFERENCE_SECONDS,
        IN_FLIGHT,
        WORKERS,
        MODEL_INFO,
        MODEL_LOADS,
    )
}


class Series:
    """A family's series in this process's store: label values -> the first of their slots."""

    __slots__ = ("_bases", "_family", "_store", "_values")

    def __init__(self, family: Family, store: ProcessStore) -> None:
        self._family = family
        self._store = store
        self._values = store.values
        self._bases: dict[tuple[str, ...], int] = {}

    def base(self, labels: tuple[str, ...]) -> int | None:
        """The series' first slot (a histogram's first bucket; its sum comes after the +Inf
        bucket), or None when the store is full."""
        base = self._bases.get(labels)
        if base is None:
            base = self._store.allocate((self._family.name, labels), self._family.size)
            if base is not None:
                self._bases[labels] = base
        return base

    def inc(self, labels: tuple[str, ...] = (), amount: float = 1.0) -> None:
        base = self.base(labels)
        if base is not None:
            self._values[base] += amount

    def set(self, labels: tuple[str, ...], value: float) -> None:
        base = self.base(labels)
        if base is not None:
            self._values[base] = value
