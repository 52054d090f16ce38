"""The report of a full run: every figure under its heading with the command that reproduces it
and the outcome of the test that measured it."""

from __future__ import annotations

from pathlib import Path

from benchmarks.machine import describe_machine
from benchmarks.reliability.audit import Audit, Audited
from benchmarks.reliability.outcomes import read_outcomes
from benchmarks.reliability.report import render

JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
<testcase classname="tests.reliability.test_load" name="test_load[full-single]" time="61"/>
<testcase classname="tests.reliability.test_faults" name="test_sigterm[full]" time="12">
<failure message="lost 1">lost 1</failure></testcase>
<testcase classname="tests.reliability.test_reload" name="test_known" time="1">
<skipped type="pytest.xfail" message="a finding" /></testcase>
</testsuite></testsuites>"""

FIGURES = [
    {"test": "tests/reliability/test_load.py::test_load[full-single]", "kind": "load",
     "shape": "single", "connections": 64, "duration_s": 60.0, "requests": 900000,
     "requests_per_s": 15000.0, "p50_ms": 4.1, "p99_ms": 13.4, "errors": 0,
     "rss_start_mb": 92.1, "rss_end_mb": 92.3, "rss_growth": 0.002,
     "command": "wrk --connections=64 http://127.0.0.1:1/predict"},
    {"test": "tests/reliability/test_faults.py::test_sigterm[full]", "kind": "sigterm",
     "full": True, "load_s": 10.0, "sent_before": 20000, "in_flight_at_signal": 32,
     "answered": 19999, "lost": 1, "non_2xx": 0, "sent_after": 5, "exit_code": 0},
]  # fmt: skip


def test_outcomes_and_figures_land_in_the_report(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(JUNIT)
    outcomes = read_outcomes(junit)
    assert outcomes == {
        "tests/reliability/test_load.py::test_load[full-single]": "passed",
        "tests/reliability/test_faults.py::test_sigterm[full]": "failed",
        "tests/reliability/test_reload.py::test_known": "xfailed",
    }
    audit = Audit(["pip-audit", "-r", "x"], "No known vulnerabilities found", [
        Audited("orjson", "3.13.0", "pip-audit"),
        Audited("numpy", "2.4.6", note="PyPI lists advisories only for the latest release"),
    ])  # fmt: skip
    text = render(FIGURES, outcomes, audit, describe_machine(), {"command": "`x`"})
    assert "## Load (wrk, RSS from /proc)" in text
    assert "| `test_load[full-single]` | single | 64 | 60 | 900,000 | 15,000 |" in text
    assert "wrk --connections=64" in text
    assert '.venv/bin/pytest "tests/reliability/test_faults.py::test_sigterm[full]"' in text
    assert "**Failed:**" in text  # a failure is shown at the top, not only in its table
    assert "| numpy | 2.4.6 | not audited | unknown |" in text
    assert "2 packages, 1 checked by pip-audit, 1 not audited; 0 advisories found." in text
    assert "## Findings and triage" in text
