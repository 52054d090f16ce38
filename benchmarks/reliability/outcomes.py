"""pytest's JUnit XML as a node id -> outcome map (passed, failed, error, skipped, xfailed)."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path


def read_outcomes(junit: Path) -> dict[str, str]:
    outcomes: dict[str, str] = {}
    if not junit.exists():
        return outcomes
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        module = case.get("classname", "").replace(".", "/")
        node = f"{module}.py::{case.get('name', '')}"
        outcome = "passed"
        for child in case:
            if child.tag in {"failure", "error", "skipped"}:
                outcome = "failed" if child.tag == "failure" else child.tag
                if child.tag == "skipped" and child.get("type") == "pytest.xfail":
                    outcome = "xfailed"  # a known failure, named in the triage
        outcomes[node] = outcome
    return outcomes
