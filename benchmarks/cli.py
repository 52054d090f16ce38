"""`python -m benchmarks` / `ids-inference bench`: run the benchmarks and write the report.

    python -m benchmarks [--quick] [--parts compute,http,scaling,footprint] [--data DIR]
                         [--out DIR] [--work DIR] [--threads N] [--reuse]

Trains the pickle set (from CICIDS2017 CSVs when there are some, else synthetic flows), converts
it, runs the chosen parts and writes `<out>/<date>-<machine>.md` with PNG plots and the raw
figures (`.json`) beside it. Exits 1 when a part failed (the report says which), else 0.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import traceback
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from benchmarks.compute import run_compute, run_large_batches
from benchmarks.footprint import Footprint, Request, measure_footprint
from benchmarks.http_suite import baseline_spec, run_http, server_spec
from benchmarks.machine import describe_machine, git_revision, library_versions
from benchmarks.payloads import JSON, single_json
from benchmarks.plots import plot_batch_scaling, plot_forest_scaling
from benchmarks.prepare import PROJECT_ROOT, Prepared, convert, find_data, prepare
from benchmarks.report import render, summary_table
from benchmarks.results import Results
from benchmarks.scaling import run_forest_scaling
from benchmarks.settings import PARTS, Settings, make_settings
from benchmarks.wrk import INSTALL_HINT, Payload
from models.pickle_set import MODEL_FILES, load_pickle_set


def parse_parts(text: str) -> tuple[str, ...]:
    parts = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = sorted(set(parts) - set(PARTS))
    if unknown or not parts:
        raise argparse.ArgumentTypeError(
            f"unknown part(s) {', '.join(unknown) or '(none given)'}; choose from {','.join(PARTS)}"
        )
    return parts


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark the pickle baseline against the ONNX artifacts and server.",
    )
    parser.add_argument("--quick", action="store_true", help="shortened run (a few minutes)")
    parser.add_argument("--parts", type=parse_parts, default=PARTS, help=",".join(PARTS))
    parser.add_argument("--data", type=Path, help="CICIDS2017 CSV folder (else CICIDS2017_DIR)")
    parser.add_argument(
        "--out",
        type=Path,
        default=PROJECT_ROOT / "benchmarks" / "results",
        help="report folder (default benchmarks/results)",
    )
    parser.add_argument("--work", type=Path, help="scratch folder (default <out>/tmp)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="onnxruntime and inplace_predict threads, in process and in the server (default 1, "
        "the server's default)",
    )
    parser.add_argument("--reuse", action="store_true", help="reuse models already in --work")
    return parser.parse_args(argv)


def ensure_wrk() -> None:
    """Install wrk from Debian when it is missing and we may; else stop with how to do it."""
    if shutil.which("wrk"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
        for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
            subprocess.run(command, check=False, stdout=subprocess.DEVNULL)
    if not shutil.which("wrk"):
        raise RuntimeError(INSTALL_HINT)


def run_footprint(settings: Settings, prepared: Prepared) -> list[Footprint]:
    folder = settings.work_dir / "footprint"
    folder.mkdir(parents=True, exist_ok=True)
    requests = []
    for model in MODEL_FILES:
        body = folder / f"{model}.json"
        body.write_bytes(single_json(prepared.rows[0], model))
        requests.append(Request("/predict", Payload(body, JSON)))
    return [
        measure_footprint(
            lambda port: server_spec(prepared.artifacts_dir, port, settings.threads),
            requests,
            settings.footprint_starts,
            folder,
        ),
        measure_footprint(
            lambda port: baseline_spec(prepared.pickles_dir, port),
            requests,
            settings.footprint_starts,
            folder,
        ),
    ]


def run_parts(settings: Settings, prepared: Prepared, results: Results) -> bool:
    """Run every chosen part; a failing part is noted in the report and the others still run."""
    pickles = load_pickle_set(prepared.pickles_dir)
    rows, work = prepared.rows, settings.work_dir

    def compute() -> None:
        results.compute = run_compute(
            pickles,
            prepared.artifacts_dir,
            rows,
            budget=settings.compute_budget,
            threads=settings.threads,
        )
        results.large_batches = run_large_batches(
            pickles, prepared.artifacts_dir, rows, budget=settings.compute_budget
        )

    def http() -> None:
        ensure_wrk()
        results.http = run_http(
            prepared.pickles_dir,
            prepared.artifacts_dir,
            rows,
            pickles.feature_names,
            settings.load,
            work / "http",
            settings.threads,
        )

    def scaling() -> None:
        done = {m.batch for m in results.compute}
        missing = [b for b in settings.scaling_batches if b not in done]
        extra = run_compute(
            pickles,
            prepared.artifacts_dir,
            rows,
            budget=settings.scaling_budget,
            threads=settings.threads,
            batch_sizes=missing,
        )
        results.batch_scaling = sorted(
            [m for m in results.compute if m.batch in settings.scaling_batches] + extra,
            key=lambda m: (list(MODEL_FILES).index(m.model), m.batch),
        )
        picked = slice(0, settings.forest_train_rows)
        results.forest_scaling = run_forest_scaling(
            pickles,
            rows[picked],
            prepared.labels[picked],
            rows,
            convert,
            work / "forests",
            sizes=settings.forest_sizes,
            batches=settings.forest_batches,
            budget=settings.scaling_budget,
            threads=settings.threads,
        )

    def footprint() -> None:
        results.footprints = run_footprint(settings, prepared)

    runners: dict[str, Callable[[], None]] = {
        "compute": compute,
        "http": http,
        "scaling": scaling,
        "footprint": footprint,
    }
    ok = True
    for part in PARTS:
        if part not in settings.parts:
            continue
        print(f"benchmarks: {part}...", file=sys.stderr, flush=True)
        try:
            runners[part]()
        except Exception as error:
            traceback.print_exc()
            results.notes.append(f"part `{part}` failed: {type(error).__name__}: {error}")
            ok = False
    return ok


def write_outputs(results: Results, out_dir: Path) -> Path:
    """The report, its plots and the raw figures; returns the report's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{results.started:%Y-%m-%d}-{results.machine.slug}"
    if results.batch_scaling:
        results.plots.append(
            plot_batch_scaling(results.batch_scaling, out_dir / f"{stem}-batch-scaling.png")
        )
    if results.forest_scaling:
        results.plots.append(
            plot_forest_scaling(results.forest_scaling, out_dir / f"{stem}-forest-scaling.png")
        )
    report = out_dir / f"{stem}.md"
    report.write_text(render(results))
    raw = json.dumps(dataclasses.asdict(results), indent=1, default=str)
    (out_dir / f"{stem}.json").write_text(raw)
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    settings = make_settings(
        quick=args.quick,
        parts=args.parts,
        data_dir=find_data(args.data),
        out_dir=args.out,
        work_dir=args.work or args.out / "tmp",
        threads=args.threads,
    )
    revision = git_revision()  # before the run writes anything into the checkout
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    started = datetime.now().astimezone()
    print("benchmarks: training and converting the models...", file=sys.stderr, flush=True)
    prepared = prepare(
        settings.work_dir, settings.data_dir, settings.synthetic_rows, reuse=args.reuse
    )
    results = Results(
        started, settings, describe_machine(), library_versions(), prepared.data, revision
    )
    ok = run_parts(settings, prepared, results)
    report = write_outputs(results, settings.out_dir)
    print("\n".join(summary_table(results)))
    print(f"report: {report}")
    return 0 if ok else 1
