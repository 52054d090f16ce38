"""`python -m benchmarks.libraries`: our hand-written parts against the libraries that do the
same job, measured side by side and run through our tests.

    python -m benchmarks.libraries [--parts tests,in-process,http,workers,off-path]
                                   [--rounds 10] [--seconds 3] [--work DIR] [--out DIR]

Trains and converts the synthetic model set as `./dev serve` does (reused from `--work`), then
for each part writes its figures to `<out>/libraries.json` and a summary to `<out>/libraries.md`.
Every library variant is switched in through a hook installed for the run only (see
`benchmarks.libraries.variants`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from benchmarks.libraries.against_tests import run_tests
from benchmarks.libraries.in_process import access_log_per_request, metrics_per_request
from benchmarks.libraries.off_path import MODULES, import_cost, openapi_build, settings_read
from benchmarks.libraries.over_http import compare_http
from benchmarks.libraries.report import write_markdown
from benchmarks.libraries.variants import VARIANTS, activated
from benchmarks.libraries.workers import probe_workers
from benchmarks.machine import describe_machine, git_revision
from benchmarks.prepare import PROJECT_ROOT, prepare

PARTS = ("tests", "in-process", "http", "workers", "off-path")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.libraries", description=__doc__)
    parser.add_argument(
        "--parts", default=",".join(PARTS), help="comma-separated: " + ", ".join(PARTS)
    )
    parser.add_argument("--rounds", type=int, default=10, help="alternating rounds (default 10)")
    parser.add_argument("--seconds", type=float, default=3.0, help="each wrk run (default 3 s)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "ids-libraries")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "benchmarks" / "results")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    parts = [part.strip() for part in args.parts.split(",") if part.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        print(f"--parts: unknown {', '.join(unknown)}; choose from {', '.join(PARTS)}")
        return 2
    prepared = prepare(args.work, None, 50_000, reuse=True)
    artifacts, row = prepared.artifacts_dir, prepared.rows[0]
    path = args.out / "libraries.json"
    results: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
    results["meta"] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "revision": git_revision(),
        "machine": dataclasses.asdict(describe_machine()),
        "versions": {name: version(variant.library) for name, variant in VARIANTS.items()},
        "rounds": args.rounds,
        "wrk_seconds": args.seconds,
    }
    with activated():
        if "tests" in parts:
            results["tests"] = {}
            for name in VARIANTS:
                print(f"tests: {name}", flush=True)
                results["tests"][name] = dataclasses.asdict(run_tests(name))
        if "in-process" in parts:
            print("in-process: metrics, access log", flush=True)
            results["in_process"] = {
                "prometheus_client": _comparison(metrics_per_request(args.rounds * 2)),
                "python_json_logger": _comparison(access_log_per_request(args.rounds * 2)),
            }
        if "http" in parts:
            results["http"] = {}
            for name in ("prometheus_client", "python_json_logger"):
                print(f"http: {name}", flush=True)
                compared = compare_http(name, artifacts, row, args.work / "http" / name,
                                        args.rounds, args.seconds)  # fmt: skip
                results["http"][name] = {**dataclasses.asdict(compared), **compared.summary()}
        if "workers" in parts:
            results["workers"] = {}
            for name in ("", "uvicorn_workers", "gunicorn"):
                print(f"workers: {name or 'ours'}", flush=True)
                probed = probe_workers(name, artifacts, args.work / "workers")
                results["workers"][name or "ours"] = dataclasses.asdict(probed)
        if "off-path" in parts:
            from benchmarks.libraries.settings_variants import pydantic_from_env, starlette_from_env

            print("off-path: settings, OpenAPI, imports", flush=True)
            results["off_path"] = {
                "starlette_config": _comparison(settings_read(starlette_from_env, args.rounds)),
                "pydantic_settings": _comparison(settings_read(pydantic_from_env, args.rounds)),
                "apispec": _comparison(openapi_build(artifacts, args.rounds)),
                "imports": {name: import_cost(module) for name, module in MODULES.items()},
            }
    args.out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1) + "\n")
    write_markdown(results, args.out / "libraries.md")
    print(f"wrote {path} and {args.out / 'libraries.md'}")
    return 0


def _comparison(compared: Any) -> dict[str, Any]:
    return {**dataclasses.asdict(compared), **compared.summary()}
