"""The report: every section, and each target read correctly as met, missed or not measured."""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from benchmarks.cli import write_outputs
from benchmarks.compute import Measurement
from benchmarks.footprint import Footprint
from benchmarks.http_load import HttpResult
from benchmarks.http_suite import BATCH_JSON, SINGLE, V2_BINARY, HttpReport
from benchmarks.machine import Machine, describe_machine, git_revision, library_versions
from benchmarks.report import render
from benchmarks.results import Results, targets
from benchmarks.scaling import ForestMeasurement
from benchmarks.settings import PARTS, make_settings
from benchmarks.wrk import WrkResult

MACHINE = Machine("AMD EPYC 7B13 64-Core Processor", 2, 2, 24 * 2**30, "Linux 6.1", "3.11.7")


def measurement(
    model: str, batch: int, path: str, median_s: float, threads: int = 1
) -> Measurement:
    return Measurement(model, batch, path, median_s, 2 * median_s, 10, 0, 0.0, threads)


def wrk(requests_per_s: float, p50_s: float, errors: int = 0) -> WrkResult:
    return WrkResult(1000, 10.0, requests_per_s, p50_s, p50_s, p50_s, p50_s, 2 * p50_s, 0, errors)


def http(service: str, scenario: str, connections: int, result: WrkResult) -> HttpResult:
    rows = 1 if scenario == SINGLE else 1000
    return HttpResult(service, scenario, connections, rows, "wrk", result)


def results(tmp_path: Path, *, every_part: bool) -> Results:
    settings = make_settings(
        quick=True, parts=PARTS, data_dir=None, out_dir=tmp_path, work_dir=tmp_path, threads=1
    )
    started = datetime(2026, 11, 27, 20, 0)
    found = Results(started, settings, MACHINE, {"numpy": "2.4"}, "synthetic", "0123456789ab")
    found.compute = [
        measurement("random_forest", 1, "service", 30e-3),
        measurement("random_forest", 1, "tuned", 4e-3),  # 80x with one job
        measurement("random_forest", 1, "onnx", 50e-6),  # 600x: met
        measurement("xgboost", 1, "service", 500e-6),
        measurement("xgboost", 1, "onnx", 25e-6),  # 20x: missed
        measurement("xgboost", 10_000, "inplace_predict", 20e-3),
        measurement("xgboost", 10_000, "onnx", 16e-3),  # 1.25x: met
    ]
    if not every_part:
        return found
    found.large_batches = [
        measurement(model, 10_000, path, median_s, threads)
        for threads in (1, 2)
        for model, path, median_s in (
            ("random_forest", "service", 60e-3),
            ("random_forest", "onnx_batch", 20e-3),  # 3x the old service: met
            ("xgboost", "service", 10e-3),
            ("xgboost", "onnx_batch", 20e-3),  # 0.5x: missed
        )
    ]
    found.http = HttpReport(
        [
            http("baseline", SINGLE, 8, wrk(140, 50e-3)),
            http("server", SINGLE, 1, wrk(5000, 0.2e-3)),  # p50 0.2 ms: met
            http("server", SINGLE, 8, wrk(4000, 2e-3)),  # 28.6x the baseline: met
            http("floor", SINGLE, 8, wrk(32000, 0.25e-3)),  # 0.125x the floor: missed
            http("server", BATCH_JSON, 1, wrk(20, 50e-3)),
            http("server", V2_BINARY, 1, wrk(100, 10e-3, errors=3)),  # errors: not measured
        ],
        [],
        0,
        1,
    )
    found.footprints = [Footprint("server", (0.4, 0.6, 0.5), 80_000_000, 90_000_000, 95_000_000)]
    beyond = [
        measurement("xgboost", 100_000, path, s) for path, s in (("service", 3.0), ("onnx", 0.2))
    ]
    found.batch_scaling = [*found.compute, *beyond]
    found.forest_scaling = [
        ForestMeasurement(trees, measurement("random_forest", 1, path, trees * scale))
        for trees in (10, 100)
        for path, scale in (("service", 1e-4), ("tuned", 1e-5), ("onnx", 1e-7))
    ]
    return found


def statuses(found: Results) -> dict[str, str]:
    return {target.name: target.status for target in targets(found)}


def test_targets_read_as_met_missed_or_not_measured(tmp_path: Path) -> None:
    status = statuses(results(tmp_path, every_part=True))
    assert status == {
        "1-row compute, random_forest: ONNX vs pickle": "met",
        "1-row compute, xgboost: ONNX vs pickle": "missed",
        "1-row compute, decision_tree: ONNX vs pickle": "not measured",
        "10k-row compute, xgboost: ONNX vs inplace_predict": "met",
        "10k-row compute, random_forest: ONNX vs pickle": "not measured",
        "10k-row compute, 2 threads, random_forest: batch graph vs pickle service": "met",
        "10k-row compute, 2 threads, xgboost: batch graph vs pickle service": "missed",
        "10k-row compute, 2 threads, decision_tree: batch graph vs pickle service": "not measured",
        "HTTP /predict c=8: server vs baseline req/s": "met",
        "HTTP /predict c=8: server vs floor req/s": "missed",
        "HTTP /predict c=1: server p50": "met",
        "HTTP 1000-row batch: v2 binary vs JSON rows/s": "not measured",
        "server RSS, three models loaded": "met",
        "server start to ready": "met",
    }


@pytest.mark.parametrize(
    ("every_part", "sections"),
    [
        pytest.param(
            True,
            [
                "Summary",
                "Machine",
                "Libraries",
                "Method",
                "In-process compute",
                "Large batches (10,000 rows, 1 and 2 threads)",
                "HTTP",
                "Scaling",
                "Footprint",
            ],
            id="every part",
        ),
        pytest.param(
            False,
            ["Summary", "Machine", "Libraries", "Method", "In-process compute"],
            id="compute only",
        ),
    ],
)
def test_report_has_a_section_per_part_run(
    tmp_path: Path, every_part: bool, sections: list[str]
) -> None:
    text = render(results(tmp_path, every_part=every_part))
    found = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert found == sections
    assert text.startswith("# Benchmarks: 2026-11-27 20:00 on amd-epyc-7b13-2c")
    assert "Code: ids-inference at revision `0123456789ab`." in text
    # The forest as pickled (n_jobs=-1) is never read alone: the one-job figure stands beside it.
    forest = "| 1-row compute, random_forest: ONNX vs pickle |"
    assert f"{forest} ≥ 500x | 600x (n_jobs=1: 80.0x) | **met** |" in text
    assert "| 1-row compute, xgboost: ONNX vs pickle | ≥ 30x | 20.0x | **missed** |" in text
    assert "AMD EPYC 7B13 64-Core Processor, 2 cores (2 usable)" in text
    if every_part:
        # The scaling table holds only what the compute table does not: here the 100k rows.
        scaling = text[text.index("## Scaling") : text.index("## Footprint")]
        assert "| xgboost | 100,000 | service | 3.00 s | 6.00 s | 33,333 | 15.0x |" in scaling
        assert "| 1 |" not in scaling.split("Random forest size")[0]
        # forest speed-ups are against the ONNX forest of the same size
        assert "| 10 | 1 | service | 1.00 ms | 2.00 ms | 1,000 | 1,000.0x |" in text
        assert "| 100 | 1 | tuned | 1.00 ms | 2.00 ms | 1,000 | 100.0x |" in text
        assert "| random_forest | 2 | service | 60.00 ms | 166,667 | 3.00x | 10 | 0 / 0 |" in text


def test_outputs_are_the_report_plots_and_raw_figures(tmp_path: Path) -> None:
    report = write_outputs(results(tmp_path, every_part=True), tmp_path / "out")
    assert report.name == "2026-11-27-amd-epyc-7b13-2c.md"
    pngs = sorted(p.name for p in report.parent.glob("*.png"))
    assert pngs == [
        "2026-11-27-amd-epyc-7b13-2c-batch-scaling.png",
        "2026-11-27-amd-epyc-7b13-2c-forest-scaling.png",
    ]
    for png in pngs:
        assert (report.parent / png).read_bytes().startswith(b"\x89PNG")
        assert f"]({png})" in report.read_text()
    assert report.with_suffix(".json").is_file()


def test_machine_and_versions_describe_this_machine() -> None:
    machine = describe_machine()
    assert machine.cores >= 1
    assert machine.memory_bytes > 0
    assert machine.slug.endswith(f"-{machine.cores}c")
    versions = library_versions()
    assert versions["onnxruntime"][0].isdigit()
    assert versions["scikit-learn"][0].isdigit()


def test_the_revision_names_the_commit_and_any_change(tmp_path: Path) -> None:
    assert git_revision(tmp_path).startswith("unknown")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (tmp_path / "a.py").write_text("x = 1\n")
    subprocess.run([*git, "add", "a.py"], check=True)
    subprocess.run([*git, "commit", "-qm", "a"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    assert git_revision(tmp_path) == head.stdout[:12]
    (tmp_path / "b.py").write_text("y = 2\n")
    assert git_revision(tmp_path) == head.stdout[:12] + "+changes"
