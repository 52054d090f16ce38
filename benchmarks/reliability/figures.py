"""Figures the reliability tests measure, appended one JSON line per record to the file named by
`RELIABILITY_FIGURES` (the full run sets it; otherwise nothing is written)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

FIGURES_ENV = "RELIABILITY_FIGURES"
ARTIFACTS_ENV = "RELIABILITY_ARTIFACTS"  # a converted repository for the load, else test models


def record(test: str, kind: str, values: dict[str, Any]) -> None:
    """Append one record: which test (its pytest node id), what kind of figure, the values."""
    target = os.environ.get(FIGURES_ENV)
    if not target:
        return
    line = json.dumps({"test": test, "kind": kind, **values}, default=str)
    with Path(target).open("a") as out:
        out.write(line + "\n")


def read(path: Path) -> Iterator[dict[str, Any]]:
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                yield json.loads(line)
