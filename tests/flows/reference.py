"""The reference flow meter (CICFlowMeter, `cfm`), run on captures the tests write."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from benchmarks import shared


def cfm_path() -> Path:
    """`cfm`, or a skip saying why it cannot run here."""
    path = shared.cfm()
    if not path.is_file():
        pytest.skip(f"the reference flow meter is not at {path}: set CFM to ../shared's cfm")
    if os.geteuid() != 0 and shutil.which("javac") is None:
        pytest.skip("cfm builds itself with Debian's JDK on first use, which needs root")
    return path


def run_cfm_folder(pcaps: Path, out: Path) -> None:
    """`cfm` on a capture, or on every capture of a folder in one JVM: `out/<name>_Flow.csv`
    for each."""
    done = subprocess.run(
        [str(cfm_path()), str(pcaps), str(out)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def run_cfm(pcap: Path, out_dir: Path) -> list[dict[str, str]]:
    """The reference's flows for `pcap`, one dict per CSV row (a flow needs 2 packets in it)."""
    run_cfm_folder(pcap, out_dir)
    csv_path = out_dir / f"{pcap.name}_Flow.csv"
    assert csv_path.is_file(), f"cfm wrote no {csv_path}"
    with csv_path.open(newline="") as file:
        return list(csv.DictReader(file))
