"""The HTTP part: the baseline service, this server and the floor in turn, same payloads."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks import payloads
from benchmarks.http_load import CONCURRENCY, HttpResult, Load, Scenario, cpu_plan, measure
from benchmarks.predictors import Rows
from benchmarks.processes import ServiceError, ServiceSpec, free_port, started
from benchmarks.wrk import Payload

MODEL = "random_forest"  # the old API's default model, what most clients call
BATCH_ROWS = 1000
SINGLE_BODIES = 100  # distinct rows sent in turn, so no server answers one row from a cache

# scenario name -> URL path, for the scenarios every server (the floor too) answers
SINGLE = "single"
BATCH_JSON = "batch JSON"
BATCH_CSV = "batch CSV"
V2_JSON = "v2 JSON"
V2_BINARY = "v2 binary"


@dataclass(frozen=True)
class HttpFailure:
    service: str
    scenario: str
    message: str


@dataclass(frozen=True)
class HttpReport:
    results: list[HttpResult]
    failures: list[HttpFailure]
    server_cpu: int | None
    wrk_cpu: int | None


def _write(folder: Path, name: str, body: bytes, headers: dict[str, str]) -> Payload:
    path = folder / name
    path.write_bytes(body)
    return Payload(path, headers)


def build_scenarios(
    rows: Rows, feature_names: Sequence[str], folder: Path
) -> dict[str, list[Scenario]]:
    """Payload files in `folder`; scenarios by kind (the single ones at every concurrency)."""
    folder.mkdir(parents=True, exist_ok=True)
    singles = [
        _write(folder, f"single-{i}.json", payloads.single_json(rows[i], MODEL), payloads.JSON)
        for i in range(min(SINGLE_BODIES, len(rows)))
    ]
    batch = rows[:BATCH_ROWS]
    binary_body, binary_headers = payloads.v2_binary(batch)
    infer = f"/v2/models/{MODEL}/infer"
    batches = {
        BATCH_JSON: (
            "/predict/batch",
            "batch.json",
            payloads.batch_json(batch, MODEL),
            payloads.JSON,
        ),
        BATCH_CSV: (
            "/predict/batch",
            "batch.csv",
            payloads.batch_csv(batch, feature_names),
            payloads.CSV,
        ),
        V2_JSON: (infer, "v2.json", payloads.v2_json(batch), payloads.JSON),
        V2_BINARY: (infer, "v2.bin", binary_body, binary_headers),
    }
    scenarios = {SINGLE: [Scenario(SINGLE, "/predict", singles, 1, c) for c in CONCURRENCY]}
    for name, (path, file, body, headers) in batches.items():
        payload = _write(folder, file, body, headers)
        scenarios[name] = [Scenario(name, path, [payload], len(batch), 1)]
    return scenarios


def baseline_spec(pickles_dir: Path, port: int) -> ServiceSpec:
    argv = [sys.executable, "-m", "benchmarks.baseline_service", "--models", str(pickles_dir)]
    argv += ["--host", "127.0.0.1", "--port", str(port)]
    return ServiceSpec("baseline", argv, {}, port, "/health")


def server_spec(artifacts_dir: Path, port: int, threads: int = 1) -> ServiceSpec:
    env = {
        "ARTIFACTS_PATH": str(artifacts_dir),
        "IDS_HOST": "127.0.0.1",
        "IDS_PORT": str(port),
        "IDS_INTRA_OP_THREADS": str(threads),
        "IDS_LOG_LEVEL": "warning",
    }
    return ServiceSpec("server", [sys.executable, "-m", "server"], env, port, "/v2/health/ready")


def floor_spec(bodies: dict[str, Path], port: int) -> ServiceSpec:
    argv = [sys.executable, "-m", "benchmarks.floor_service", "--port", str(port)]
    for path, file in bodies.items():
        argv += ["--body", f"{path}={file}"]
    return ServiceSpec("floor", argv, {}, port, "/v2/health/ready")


def run_service(
    spec: ServiceSpec,
    scenarios: Sequence[Scenario],
    load: Load,
    work_dir: Path,
    report: HttpReport,
) -> dict[str, bytes]:
    """Load every scenario on one server; returns one answer body per URL path."""
    answers: dict[str, bytes] = {}
    try:
        with started(spec, work_dir / f"{spec.name}.log", cpu=report.server_cpu) as running:
            for scenario in scenarios:
                try:
                    result, answer = measure(running, scenario, load, work_dir, report.wrk_cpu)
                except ServiceError as error:
                    report.failures.append(HttpFailure(spec.name, scenario.name, str(error)))
                    continue
                report.results.append(result)
                answers.setdefault(scenario.path, answer)
    except ServiceError as error:
        report.failures.append(HttpFailure(spec.name, "start", str(error)))
    return answers


def run_http(
    pickles_dir: Path,
    artifacts_dir: Path,
    rows: Rows,
    feature_names: Sequence[str],
    load: Load,
    work_dir: Path,
    threads: int = 1,
) -> HttpReport:
    """Baseline, then this server, then the floor answering bodies the size of the server's."""
    server_cpu, wrk_cpu = cpu_plan()
    report = HttpReport([], [], server_cpu, wrk_cpu)
    scenarios = build_scenarios(rows, feature_names, work_dir / "payloads")
    legacy = [*scenarios[SINGLE], *scenarios[BATCH_JSON]]
    every = [*legacy, *scenarios[BATCH_CSV], *scenarios[V2_JSON], *scenarios[V2_BINARY]]
    answers = run_service(baseline_spec(pickles_dir, free_port()), legacy, load, work_dir, report)
    answers |= run_service(
        server_spec(artifacts_dir, free_port(), threads), every, load, work_dir, report
    )
    bodies: dict[str, Path] = {}
    for path in ("/predict", "/predict/batch"):
        if path in answers:
            bodies[path] = work_dir / "payloads" / f"floor{path.replace('/', '-')}.json"
            bodies[path].write_bytes(answers[path])
    if bodies:
        run_service(floor_spec(bodies, free_port()), legacy, load, work_dir, report)
    return report
