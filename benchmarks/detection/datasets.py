"""Labelled flow CSVs of the recordings, made with the command a user runs:
`ids-inference flows REC.pcap -o REC.csv --label ATTACK --attacker A --victim V` (or `--label
BENIGN` for a recording of normal traffic)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks.detection.scenarios import ATTACKER, SCENARIOS


def label_arguments(scenario: str) -> list[str]:
    victim = SCENARIOS[scenario].victim
    if victim is None:
        return ["--label", "BENIGN"]
    return ["--label", "ATTACK", "--attacker", ATTACKER, "--victim", victim]


def labelled_csv(pcap: Path, scenario: str, folder: Path) -> Path:
    """`folder/<recording>.csv`, made again when older than its recording."""
    out = folder / f"{pcap.stem}.csv"
    if out.is_file() and out.stat().st_mtime >= pcap.stat().st_mtime:
        return out
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "ids_inference", "flows", str(pcap), "-o", str(out), "-q"]
    subprocess.run([*command, *label_arguments(scenario)], check=True, capture_output=True)
    return out
