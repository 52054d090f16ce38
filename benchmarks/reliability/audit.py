"""A vulnerability audit of the `serve` extra: what a fresh serving install resolves to, audited
by pip-audit; where pip-audit cannot reach its service, PyPI's own advisories for the release
when it is the project's latest (the JSON API lists a project's latest release's advisories).

Nothing is assumed clean: a dependency neither source could check is reported as not audited."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PYPI_PROJECT = "https://pypi.org/pypi/{name}/json"
NOT_AUDITED = "not audited"


@dataclass
class Audited:
    """One resolved dependency and what is known of its advisories."""

    name: str
    version: str
    source: str = NOT_AUDITED  # or "pip-audit", "PyPI latest-release advisories"
    advisories: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""


@dataclass
class Audit:
    command: list[str]
    pip_audit_output: str
    dependencies: list[Audited]

    def checked_by(self) -> dict[str, int]:
        """How many dependencies each source covered ("not audited" included)."""
        counts: dict[str, int] = {}
        for dep in self.dependencies:
            counts[dep.source] = counts.get(dep.source, 0) + 1
        return counts

    @property
    def findings(self) -> int:
        return sum(len(dep.advisories) for dep in self.dependencies)


def resolve_serve(project_root: Path) -> list[tuple[str, str]]:
    """What `pip install .[serve]` would install here, fresh (the project itself left out)."""
    with tempfile.TemporaryDirectory() as work:
        report = Path(work) / "report.json"
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
             "--quiet", "--report", str(report), f"{project_root}[serve]"],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        resolved = json.loads(report.read_text())["install"]
    return sorted(
        (item["metadata"]["name"], item["metadata"]["version"])
        for item in resolved
        if item["metadata"]["name"] != "ids-inference"
    )


def _pip_audit(requirements: Path, report: Path) -> tuple[list[str], str]:
    command = [
        str(Path(sys.executable).with_name("pip-audit")),
        "--no-deps",  # the pins are the whole resolved set already
        "--disable-pip",
        "--requirement",
        str(requirements),
        "--format",
        "json",
        "--output",
        str(report),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return command, (done.stdout + done.stderr).strip()


def _latest_release_advisories(name: str, version: str, dep: Audited) -> None:
    try:
        with urllib.request.urlopen(PYPI_PROJECT.format(name=name), timeout=30) as answer:
            project = json.load(answer)
    except (OSError, urllib.error.URLError, ValueError) as error:
        dep.note = f"PyPI unreachable: {error}"
        return
    latest = project["info"]["version"]
    if latest != version:
        dep.note = f"PyPI lists advisories only for the latest release ({latest})"
        return
    dep.source = "PyPI latest-release advisories"
    dep.advisories = [
        {"id": item.get("id"), "fixed_in": item.get("fixed_in"), "summary": item.get("summary")}
        for item in project.get("vulnerabilities", [])
        if not item.get("withdrawn")
    ]


def audit_serve(project_root: Path, work_dir: Path) -> Audit:
    resolved = resolve_serve(project_root)
    requirements = work_dir / "serve-requirements.txt"
    requirements.write_text("".join(f"{name}=={version}\n" for name, version in resolved))
    report = work_dir / "pip-audit.json"
    command, output = _pip_audit(requirements, report)
    found = json.loads(report.read_text())["dependencies"] if report.exists() else []
    by_name = {entry["name"].lower().replace("_", "-"): entry for entry in found}
    dependencies = []
    for name, version in resolved:
        dep = Audited(name, version)
        entry = by_name.get(name.lower().replace("_", "-"))
        if entry is not None and "skip_reason" not in entry:
            dep.source = "pip-audit"
            dep.advisories = [
                {"id": v["id"], "fixed_in": v.get("fix_versions"), "summary": v.get("description")}
                for v in entry.get("vulns", [])
            ]
        else:
            if entry is not None:
                dep.note = f"pip-audit: {entry['skip_reason']}"
            _latest_release_advisories(name, version, dep)
        dependencies.append(dep)
    return Audit(command, output, dependencies)
