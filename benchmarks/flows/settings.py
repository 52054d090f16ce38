"""Where the benchmark finds the reference, the recorder and its cache."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("SHARED_DIR", PROJECT_ROOT.parent / "shared"))
CFM = Path(os.environ.get("CFM", SHARED / "reference" / "cicflowmeter" / "cfm"))
TRAFFIC = Path(os.environ.get("TRAFFIC", SHARED / "tools" / "traffic"))
CACHE = PROJECT_ROOT / "benchmarks" / "results" / "tmp"  # git-ignored
RESULTS = PROJECT_ROOT / "benchmarks" / "results"
