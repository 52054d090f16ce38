"""`python -m benchmarks.reliability`: the whole reliability suite, then its report.

    python -m benchmarks.reliability [--out FILE] [--work DIR] [--data DIR] [--test-models]
                                     [-- PYTEST ARGS...]

Trains and converts the real models (as `./dev serve` does; CICIDS2017 excerpts when found,
else synthetic flows) for the load and fault tests, runs every test in tests/reliability (the
CI part and the `reliability_full` part), audits the `serve` extra's dependencies and writes
`benchmarks/results/reliability.md` with the raw figures beside it (`reliability.json`).
Exits with pytest's status: 0 when every test passed.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.machine import describe_machine, git_revision
from benchmarks.processes import PROJECT_ROOT
from benchmarks.reliability import figures
from benchmarks.reliability.audit import Audit, audit_serve
from benchmarks.reliability.outcomes import read_outcomes
from benchmarks.reliability.report import render

SELECT_ALL = "reliability_full or not reliability_full"
COMMAND = "python -m benchmarks.reliability"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=PROJECT_ROOT / "benchmarks" / "results" / "reliability.md",
        help="the report (default: benchmarks/results/reliability.md)",
    )
    parser.add_argument("--work", type=Path, help="working folder (default: a temporary one)")
    parser.add_argument("--data", type=Path, help="CICIDS2017 CSV folder to train on")
    parser.add_argument(
        "--test-models",
        action="store_true",
        help="load the small test models instead of training and converting real ones",
    )
    parser.add_argument("--no-audit", action="store_true", help="skip the dependency audit")
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments (after --)")
    return parser.parse_args(argv)


def run(args: argparse.Namespace, work: Path) -> int:
    from benchmarks.cli import ensure_wrk

    revision = git_revision()  # before anything runs: what ran is the checkout as it was
    ensure_wrk()  # the load tests skip without it; the full run must not
    env = dict(os.environ)
    models = "the small test models (tests/server/artifact_builder.py)"
    if not args.test_models:
        from benchmarks.prepare import find_data, prepare

        data = find_data(args.data)
        print(f"{COMMAND}: training and converting the models ({data or 'synthetic flows'})")
        prepared = prepare(work / "models", data, 50_000, reuse=True)
        env[figures.ARTIFACTS_ENV] = str(prepared.artifacts_dir)
        models = f"trained and converted here, from {prepared.data}"
    figures_file = work / "figures.jsonl"
    figures_file.unlink(missing_ok=True)
    junit = work / "junit.xml"
    env[figures.FIGURES_ENV] = str(figures_file)
    command = [
        sys.executable, "-m", "pytest", "tests/reliability", "-m", SELECT_ALL,
        "-p", "no:cacheprovider", f"--junitxml={junit}", "-q", *args.pytest_args,
    ]  # fmt: skip
    print(f"{COMMAND}: {' '.join(command[1:])}", flush=True)
    status = subprocess.run(command, cwd=PROJECT_ROOT, env=env, check=False).returncode
    audit: Audit | None = None
    if not args.no_audit:
        print(f"{COMMAND}: auditing the serve extra's dependencies", flush=True)
        audit = audit_serve(PROJECT_ROOT, work)
    records = list(figures.read(figures_file))
    header = {
        "command": f"`{COMMAND}`"
        + (f" `{' '.join(args.pytest_args)}`" if args.pytest_args else ""),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "revision": revision,
        "models under load and faults": models,
        "pytest": f"`{shlex.join(['pytest', *command[3:]])}` (exit status {status})",
    }
    text = render(records, read_outcomes(junit), audit, describe_machine(), header)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    raw = {"figures": records, "outcomes": read_outcomes(junit)}
    args.out.with_suffix(".json").write_text(json.dumps(raw, indent=1, default=str) + "\n")
    print(f"{COMMAND}: wrote {args.out} (pytest exit status {status})")
    return status


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.work is not None:
        args.work.mkdir(parents=True, exist_ok=True)
        return run(args, args.work)
    with tempfile.TemporaryDirectory(prefix="reliability-") as work:
        return run(args, Path(work))
