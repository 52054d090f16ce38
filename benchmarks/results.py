"""Everything one run measured, and the issue's targets read from it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from benchmarks.compute import Measurement
from benchmarks.footprint import Footprint
from benchmarks.http_load import HttpResult
from benchmarks.http_suite import BATCH_JSON, SINGLE, V2_BINARY, HttpReport
from benchmarks.machine import Machine
from benchmarks.scaling import ForestMeasurement
from benchmarks.settings import Settings


@dataclass
class Results:
    started: datetime
    settings: Settings
    machine: Machine
    versions: dict[str, str]
    data: str
    revision: str  # the commit measured, `benchmarks.machine.git_revision`
    compute: list[Measurement] = field(default_factory=list)
    http: HttpReport | None = None
    large_batches: list[Measurement] = field(default_factory=list)
    batch_scaling: list[Measurement] = field(default_factory=list)
    forest_scaling: list[ForestMeasurement] = field(default_factory=list)
    footprints: list[Footprint] = field(default_factory=list)
    plots: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def measurement(self, model: str, batch: int, path: str) -> Measurement | None:
        for m in self.compute:
            if (m.model, m.batch, m.path) == (model, batch, path):
                return m
        return None

    def large_batch(self, model: str, threads: int, path: str) -> Measurement | None:
        for m in self.large_batches:
            if (m.model, m.threads, m.path) == (model, threads, path):
                return m
        return None

    def http_result(self, service: str, scenario: str, connections: int) -> HttpResult | None:
        for r in self.http.results if self.http else []:
            if (r.service, r.scenario, r.connections) == (service, scenario, connections):
                return r
        return None

    def footprint(self, service: str) -> Footprint | None:
        return next((f for f in self.footprints if f.service == service), None)


@dataclass(frozen=True)
class Target:
    """One goal of the issue: a measured value against a threshold."""

    name: str
    value: float | None
    threshold: float
    at_least: bool  # True: value >= threshold is met; False: value <= threshold is met
    unit: str  # "x" for a ratio, else the unit of value
    # A figure to read beside the value (what it is, the figure), shown but not judged.
    beside: tuple[str, float | None] | None = None

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        return self.value >= self.threshold if self.at_least else self.value <= self.threshold

    @property
    def status(self) -> str:
        return {True: "met", False: "missed", None: "not measured"}[self.met]

    def show(self, value: float) -> str:
        if self.unit != "x":
            return f"{value:.3g} {self.unit}"
        digits = 2 if value < 10 else 1 if value < 100 else 0
        return f"{value:,.{digits}f}x"

    @property
    def goal(self) -> str:
        return (
            ("≥ " if self.at_least else "≤ ")
            + f"{self.threshold:g}"
            + ("x" if self.unit == "x" else f" {self.unit}")
        )

    @property
    def measured(self) -> str:
        shown = "—" if self.value is None else self.show(self.value)
        if self.beside is None:
            return shown
        what, value = self.beside
        return f"{shown} ({what}: {'—' if value is None else self.show(value)})"


def _ratio(slow: float | None, fast: float | None) -> float | None:
    return None if slow is None or fast is None or fast == 0 else slow / fast


def _median(m: Measurement | None) -> float | None:
    return None if m is None else m.median_s


def _rate(r: HttpResult | None, of: Callable[[HttpResult], float]) -> float | None:
    return None if r is None or r.result.errors else of(r)


def targets(results: Results) -> list[Target]:
    """The issue's targets, in its order; a target whose figures are missing is not measured."""

    def speedup(model: str, batch: int, over: str) -> float | None:
        return _ratio(
            _median(results.measurement(model, batch, over)),
            _median(results.measurement(model, batch, "onnx")),
        )

    def rps(service: str) -> float | None:
        return _rate(results.http_result(service, SINGLE, 8), lambda r: r.result.requests_per_s)

    def rows(scenario: str) -> float | None:
        return _rate(results.http_result("server", scenario, 1), lambda r: r.rows_per_s)

    p50 = _rate(results.http_result("server", SINGLE, 1), lambda r: r.result.latency_p50_s * 1e3)
    server = results.footprint("server")
    rss = None if server is None else server.rss_serving_bytes / 1e6
    ready = None if server is None else server.ready_median_s
    return [
        Target(
            "1-row compute, random_forest: ONNX vs pickle",
            speedup("random_forest", 1, "service"),
            500,
            True,
            "x",
            # As pickled, the forest has n_jobs=-1: most of a 1-row call is joblib's dispatch.
            beside=("n_jobs=1", speedup("random_forest", 1, "tuned")),
        ),
        Target(
            "1-row compute, xgboost: ONNX vs pickle",
            speedup("xgboost", 1, "service"),
            30,
            True,
            "x",
        ),
        Target(
            "1-row compute, decision_tree: ONNX vs pickle",
            speedup("decision_tree", 1, "service"),
            10,
            True,
            "x",
        ),
        Target(
            "10k-row compute, xgboost: ONNX vs inplace_predict",
            speedup("xgboost", 10_000, "inplace_predict"),
            1,
            True,
            "x",
        ),
        Target(
            "10k-row compute, random_forest: ONNX vs pickle",
            speedup("random_forest", 10_000, "service"),
            10,
            True,
            "x",
        ),
        *(
            Target(
                f"10k-row compute, 2 threads, {model}: batch graph vs pickle service",
                _ratio(
                    _median(results.large_batch(model, 2, "service")),
                    _median(results.large_batch(model, 2, "onnx_batch")),
                ),
                1,
                True,
                "x",
            )
            for model in ("random_forest", "xgboost", "decision_tree")
        ),
        Target(
            "HTTP /predict c=8: server vs baseline req/s",
            _ratio(rps("server"), rps("baseline")),
            25,
            True,
            "x",
        ),
        Target(
            "HTTP /predict c=8: server vs floor req/s",
            _ratio(rps("server"), rps("floor")),
            0.8,
            True,
            "x",
        ),
        Target("HTTP /predict c=1: server p50", p50, 0.25, False, "ms"),
        Target(
            "HTTP 1000-row batch: v2 binary vs JSON rows/s",
            _ratio(rows(V2_BINARY), rows(BATCH_JSON)),
            3,
            True,
            "x",
        ),
        Target("server RSS, three models loaded", rss, 120, False, "MB"),
        Target("server start to ready", ready, 1, False, "s"),
    ]
