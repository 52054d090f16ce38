"""Fresh recordings of every scenario, several runs each, cached under benchmarks/results/tmp/.

The tool takes no seed: each run is a new recording of the real tools (timings, ports and
sequence numbers differ from run to run), so several runs stand for several seeds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from benchmarks.detection.scenarios import SCENARIOS
from flows.stream import read_flows

ATTEMPTS = 3


def recording_path(folder: Path, scenario: str, run: int) -> Path:
    return folder / f"{scenario}-{run}.pcap"


def record(tool: Path, folder: Path, scenario: str, run: int) -> tuple[Path, float]:
    """The recording of `scenario`'s run `run`, made now unless the cache holds it; the seconds
    the recording took (0 when cached)."""
    path = recording_path(folder, scenario, run)
    if path.is_file():
        problem = incomplete(path, scenario)
        if not problem:
            return path, 0.0
        print(f"detection: cached {path.name}: {problem}, recording again", file=sys.stderr)
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    environment = {**os.environ, **dict(SCENARIOS[scenario].environment)}
    began = time.monotonic()
    for _ in range(ATTEMPTS):
        result = subprocess.run(
            [str(tool), scenario, str(partial)],
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
        problem = (
            f"exit {result.returncode}"
            if result.returncode != 0 or not partial.is_file()
            else incomplete(partial, scenario)
        )
        if not problem:
            break
        # The tool gives its servers half a second to start: on a loaded machine a client can
        # come first and fail to connect (curl's exit 7; in `mixed`, the web part then stops
        # silently). A new recording is the remedy.
        print(f"detection: {scenario} run {run}: {problem}, recording again", file=sys.stderr)
    if problem:
        partial.unlink(missing_ok=True)
        raise RuntimeError(
            f"{tool} {scenario} failed {ATTEMPTS} times ({problem}): {result.stderr.strip()[-500:]}"
        )
    partial.replace(path)
    seconds = time.monotonic() - began
    print(f"detection: recorded {path.name} in {seconds:.0f} s", file=sys.stderr)
    return path, seconds


def incomplete(path: Path, scenario: str) -> str:
    """What a recording lacks of what its scenario makes (flows to each server port), or ''."""
    counts: Counter[int] = Counter()
    for batch in read_flows(path):
        counts.update(batch.dst_port.tolist())
    for port, least in SCENARIOS[scenario].expect:
        found = counts[port]
        if found < least:
            return f"{found} flows to port {port}, expected at least {least}"
    return ""


def record_all(tool: Path, folder: Path, runs: int) -> dict[tuple[str, int], Path]:
    """Every scenario's runs 1..runs, run by run (one round of every scenario, then the next)."""
    paths = {}
    for run in range(1, runs + 1):
        for scenario in SCENARIOS:
            paths[scenario, run] = record(tool, folder, scenario, run)[0]
    return paths
