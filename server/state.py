"""What the HTTP handlers share: settings, the current registry of loaded models, metrics, logs."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import MutableMapping
from typing import Any

from anyio import to_thread

from server.codecs.features import Matrix
from server.deadlines import Deadlines
from server.metrics.recorder import Metrics
from server.model import Model, Prediction
from server.repository import Registry
from server.request_records import RUNS, RequestRecords, Run
from server.settings import Settings


class ServingState:
    """The registry is replaced whole (one reference assignment, atomic under the GIL), never
    mutated: a handler reads `registry` once and keeps a consistent view for its request."""

    __slots__ = (
        "_lock",
        "_threads_running",
        "deadlines",
        "metrics",
        "ready",
        "records",
        "registry",
        "settings",
        "stopping",
    )

    def __init__(self, settings: Settings, registry: Registry | None = None) -> None:
        self.settings = settings
        self.registry = registry if registry is not None else Registry({})
        self.ready = False
        self.stopping = False  # SIGTERM arrived: not ready, finishing what is in flight
        # In this process's memory until start-up puts them in the folder the workers share.
        self.metrics = Metrics(None)
        self.records = RequestRecords(lambda: self.metrics, settings.log_level, settings.access_log)
        self.deadlines = Deadlines(settings.request_timeout_seconds)
        self._threads_running = 0  # runs in worker threads, abandoned ones included
        self._lock = threading.Lock()

    async def predict(
        self, model: Model, rows: Matrix, scope: MutableMapping[str, Any] | None = None
    ) -> Prediction:
        """Run the model, off the event loop when the batch is large enough to block it; the run
        is noted in the request's `scope` for the access log and the metrics."""
        if rows.shape[0] < self.settings.offload_rows:
            # A small run costs less than the trip to a worker thread and back (about 35 us
            # measured here), so it stays on the loop: a 100-tree forest answers one row in
            # about 10 us and 10 rows in 0.1 ms, but 100 rows take 1.3 ms, long enough to stall
            # every other connection. Hence the default threshold of 64 rows.
            prediction = model.predict(rows)
        else:
            # onnxruntime releases the GIL while it runs, so the loop keeps serving meanwhile.
            # Abandoned on cancellation (a request past its deadline answers at once; the run
            # finishes in its thread and its result is dropped).
            with self._lock:
                self._threads_running += 1
            prediction = await to_thread.run_sync(
                self._run_in_thread, model, rows, abandon_on_cancel=True
            )
        if scope is not None:
            run = (model.name, model.version, rows.shape[0], prediction.seconds)
            runs: list[Run] | None = scope.get(RUNS)
            if runs is None:
                scope[RUNS] = [run]
            else:
                runs.append(run)
        return prediction

    def _run_in_thread(self, model: Model, rows: Matrix) -> Prediction:
        try:
            return model.predict(rows)
        finally:
            with self._lock:
                self._threads_running -= 1

    async def drain(self, seconds: float) -> None:
        """Wait (up to `seconds`) for the runs still in worker threads, abandoned ones too: a
        process that exits while onnxruntime runs in another thread is aborted by the C++
        runtime instead of exiting cleanly."""
        deadline = time.monotonic() + seconds
        while self._threads_running and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
