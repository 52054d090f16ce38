"""Schemathesis against `/openapi.json` of a real server process. Every documented operation gets
generated requests in all four of its phases (the document's examples, boundary and negative
cases, random fuzzing, stateful sequences); every answer must be no 5xx and match the document:
status code, content type, headers and body schema.

Run through schemathesis' own command line: its JSON report counts the cases, and it does not
depend on pytest's internals (its pytest plugin's lazy loader does not run on pytest 9)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from benchmarks.processes import ServerProcess
from tests.reliability.conftest import Record, profiles
from tests.server.artifact_builder import DEFAULT_MODELS

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
# Random path parameters only reach the 404 path: most cases name a model (and version) that
# exists, so their bodies reach the decoders.
CONFIG = f"""
[dictionaries.models]
values = {json.dumps(sorted(DEFAULT_MODELS))}

[dictionaries.versions]
values = ["1", "2"]

[parameters]
"path.name" = {{ dictionary = "models", probability = 0.8 }}
"path.version" = {{ dictionary = "versions", probability = 0.8 }}
"""


def schemathesis_command(url: str, config: Path, report: Path, examples: int) -> list[str]:
    return [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "--no-color",
        "run",
        f"{url}/openapi.json",
        "--max-examples",
        str(examples),
        "--checks",
        ",".join(CHECKS),
        "--request-timeout",
        "10",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]


@pytest.mark.parametrize("examples", profiles(5, 100))
def test_generated_requests_get_no_5xx_and_documented_answers(
    start: Callable[..., ServerProcess],
    test_repository: Path,
    tmp_path: Path,
    record: Record,
    examples: int,
) -> None:
    server = start({"ARTIFACTS_PATH": str(test_repository), "IDS_LOG_LEVEL": "warning"})
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    report = tmp_path / "schemathesis.json"
    command = schemathesis_command(server.url, config, report, examples)
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, cwd=tmp_path)
    assert report.exists(), done.stdout + done.stderr
    summary = json.loads(report.read_text())
    cases = summary["test_cases"]
    record(
        "schemathesis",
        cases=cases["generated"],
        with_failures=cases["with_failures"],
        errored=cases["errored"],
        operations=summary["operations"]["tested"],
        phases={name: phase["status"] for name, phase in summary["phases"].items()},
        warnings={name: items for name, items in summary["warnings"].items() if items},
        seed=summary["seed"],
        command="st " + " ".join(command[1:]),
    )
    assert done.returncode == 0, done.stdout[-5000:]
    assert summary["failures"] == [], done.stdout[-5000:]
    assert summary["errors"] == [], done.stdout[-5000:]
    assert summary["operations"]["tested"] == summary["operations"]["total"]
    assert server.process.poll() is None, "the server died"
    assert "Traceback" not in server.output(), server.output()
