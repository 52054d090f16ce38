"""Where the benchmark finds the reference, the recorder and its cache."""

from __future__ import annotations

from benchmarks import shared
from benchmarks.shared import PROJECT_ROOT as PROJECT_ROOT

CFM = shared.cfm()
TRAFFIC = shared.traffic()
CACHE = PROJECT_ROOT / "benchmarks" / "results" / "tmp"  # git-ignored
RESULTS = PROJECT_ROOT / "benchmarks" / "results"
