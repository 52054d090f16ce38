"""Fixtures shared by every room's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import shared

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def cicids_dir() -> Path:
    """The real CICIDS2017 excerpts (`CICIDS2017_DIR`, else `../shared/data/cicids2017`)."""
    folder = shared.cicids2017_dir()
    if not folder.is_dir() or not any(folder.glob("*.csv")):
        pytest.skip(
            f"real CICIDS2017 data not found at {folder}: set CICIDS2017_DIR to a folder of "
            "CICIDS2017 CSV files to run this test"
        )
    return folder


@pytest.fixture(scope="session")
def pcaps_dir() -> Path:
    """Recordings with the reference flow meter's CSV beside each (`PCAPS_DIR`, else
    `../shared/data/pcaps`)."""
    folder = shared.pcaps_dir()
    if not folder.is_dir() or not any(folder.glob("*.cicflowmeter.csv")):
        pytest.skip(
            f"recordings with CICFlowMeter's CSVs not found at {folder}: set PCAPS_DIR to a "
            "folder of NAME.pcap and NAME.cicflowmeter.csv files to run this test"
        )
    return folder
