"""This process's metrics: what the request path records, and `/metrics` rendered for all."""

from __future__ import annotations

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
    WORKERS,
    Histogram,
    Series,
)
from server.metrics.store import ProcessStore, read_directory
from server.model import Model


class Metrics:
    """Recorders over one `ProcessStore`: in `directory` (shared with the other workers), or in
    private memory when `directory` is None (an app that has not started)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.store = store = ProcessStore(directory)
        self.requests = Series(REQUESTS, store)
        self.request_seconds = Histogram(REQUEST_SECONDS, store)
        self.request_rows = Histogram(REQUEST_ROWS, store)
        self.inference_seconds = Histogram(INFERENCE_SECONDS, store)
        self.model_loads = Series(MODEL_LOADS, store)
        self._model_info = Series(MODEL_INFO, store)
        self._shown: set[tuple[str, str, str]] = set()
        # The in-flight gauge is moved twice per request: its slot is kept at hand.
        self.values = store.values
        in_flight = store.allocate((IN_FLIGHT.name, ()), IN_FLIGHT.size)
        assert in_flight is not None  # the first series of an empty store
        self.in_flight_slot = in_flight
        Series(WORKERS, store).set((), 1.0)

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
