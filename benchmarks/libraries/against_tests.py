"""Our tests run against a library variant: which pass, which fail, and the first line of why."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from benchmarks.libraries.variants import VARIABLE, VARIANTS
from benchmarks.prepare import PROJECT_ROOT


@dataclass(frozen=True)
class Failure:
    test: str
    reason: str


@dataclass(frozen=True)
class TestRun:
    variant: str
    files: tuple[str, ...]
    passed: int
    skipped: int
    failures: tuple[Failure, ...]


def run_tests(variant: str, timeout_s: float = 900) -> TestRun:
    """The variant's test files through pytest in a fresh process (the hook must be installed:
    `variants.activated()`); "ours" runs the same files with nothing switched."""
    files = VARIANTS[variant].tests
    with tempfile.TemporaryDirectory(prefix="ids-libraries-") as folder:
        report = Path(folder) / "junit.xml"
        env = {**os.environ, VARIABLE: variant}
        # In a session of its own: a server a failed fixture never stopped (the library
        # supervisors' never say `ready`) is ended with the group afterwards.
        pytest = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "-W", "ignore::pytest.PytestAssertRewriteWarning",  # anyio, imported by the hook
             f"--junitxml={report}", *files],
            cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        try:
            pytest.wait(timeout=timeout_s)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pytest.pid, signal.SIGKILL)
            pytest.wait()
        return _read(variant, files, report)


def _read(variant: str, files: tuple[str, ...], report: Path) -> TestRun:
    passed = skipped = 0
    failures: list[Failure] = []
    for case in ElementTree.parse(report).iter("testcase"):
        test = f"{case.get('classname', '').rpartition('.')[2]}::{case.get('name')}"
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            failures.append(Failure(test, _why(problem)))
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
    return TestRun(variant, files, passed, skipped, tuple(failures))


def _why(problem: ElementTree.Element) -> str:
    """The assertion or exception line of a failure, shortened."""
    text = problem.text or ""
    lines = [line[1:].strip() for line in text.splitlines() if line.startswith("E ")]
    reason = " / ".join(line for line in lines[:4] if line) or problem.get("message", "")
    return reason[:400]
