"""This process's metrics: what the request path records, and `/metrics` rendered for all."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from pathlib import Path

from server.metrics.exposition import aggregate, render
from server.metrics.families import (
    IN_FLIGHT,
    INFERENCE_SECONDS,
    MODEL_INFO,
    MODEL_LOADS,
    REQUEST_ROWS,
    REQUEST_SECONDS,
    REQUESTS,
    ROWS,
    SECONDS,
    WORKERS,
    Series,
)
from server.metrics.store import ProcessStore, read_directory
from server.model import Model

_SECONDS_SUM = len(SECONDS) + 1  # after the buckets and the +Inf bucket
_ROWS_SUM = len(ROWS) + 1


class Metrics:
    """Recorders over one `ProcessStore`: in `directory` (shared with the other workers), or in
    private memory when `directory` is None (an app that has not started)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.store = store = ProcessStore(directory)
        self._requests = Series(REQUESTS, store)
        self._request_seconds = Series(REQUEST_SECONDS, store)
        self._request_rows = Series(REQUEST_ROWS, store)
        self._inference_seconds = Series(INFERENCE_SECONDS, store)
        # The slots a request's series start at, found once per label combination: recording
        # a request is then a handful of stores into the mapping.
        self._request_bases: dict[tuple[str, str, int], tuple[int, int, int]] = {}
        self._run_bases: dict[tuple[str, str], int] = {}
        self.model_loads = Series(MODEL_LOADS, store)
        self._model_info = Series(MODEL_INFO, store)
        self._shown: set[tuple[str, str, str]] = set()
        # The in-flight gauge is moved twice per request: its slot is kept at hand.
        self.values = store.values
        in_flight = store.allocate((IN_FLIGHT.name, ()), IN_FLIGHT.size)
        assert in_flight is not None  # the first series of an empty store
        self.in_flight_slot = in_flight
        Series(WORKERS, store).set((), 1.0)

    def request(self, route: str, model: str, status: int, seconds: float, rows: int) -> None:
        """One answered request: its count, latency and, for predictions, rows."""
        bases = self._request_bases.get((route, model, status))
        if bases is None:
            count = self._requests.base((route, model, str(status)))
            latency = self._request_seconds.base((route,))
            sizes = self._request_rows.base((route,))
            if count is None or latency is None or sizes is None:
                return  # the store is full: not recorded, rather than failing the request
            bases = self._request_bases[route, model, status] = (count, latency, sizes)
        count, latency, sizes = bases
        values = self.values
        values[count] += 1.0
        values[latency + bisect_left(SECONDS, seconds)] += 1.0
        values[latency + _SECONDS_SUM] += seconds
        if rows:
            values[sizes + bisect_left(ROWS, rows)] += 1.0
            values[sizes + _ROWS_SUM] += rows

    def run(self, model: str, version: str, seconds: float) -> None:
        """One onnxruntime run."""
        base = self._run_bases.get((model, version))
        if base is None:
            base = self._inference_seconds.base((model, version))
            if base is None:
                return
            self._run_bases[model, version] = base
        values = self.values
        values[base + bisect_left(SECONDS, seconds)] += 1.0
        values[base + _SECONDS_SUM] += seconds

    def models_changed(self, models: Iterable[Model]) -> None:
        """The info series of the versions now loaded are 1, those of versions gone are 0."""
        loaded = {(model.name, model.version, model.manifest.sha256) for model in models}
        for labels in loaded - self._shown:
            self._model_info.set(labels, 1.0)
        for labels in self._shown - loaded:
            self._model_info.set(labels, 0.0)
        self._shown = loaded

    def render(self) -> bytes:
        """Every worker's series, added up (or this process's alone, when it shares none)."""
        return render(aggregate(read_directory(self.directory, self.store)))

    def close(self) -> None:
        self.store.close()
