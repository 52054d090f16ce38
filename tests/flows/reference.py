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


def run_cfm(pcap: Path, out_dir: Path) -> list[dict[str, str]]:
    """The reference's flows for `pcap`, one dict per CSV row (a flow needs 2 packets in it)."""
    done = subprocess.run(
        [str(cfm_path()), str(pcap), str(out_dir)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    csv_path = out_dir / f"{pcap.name}_Flow.csv"
    assert done.returncode == 0, done.stdout + done.stderr
    assert csv_path.is_file(), done.stdout + done.stderr
    with csv_path.open(newline="") as file:
        return list(csv.DictReader(file))
