"""Fixtures of the flow room's tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

DEFAULT_PCAPS = PROJECT_ROOT.parent / "shared" / "data" / "pcaps"


@pytest.fixture(scope="session")
def pcaps_dir() -> Path:
    """Recorded captures and the reference's CSVs (FLOWS_PCAPS_DIR, else ../shared/data/pcaps)."""
    folder = Path(os.environ.get("FLOWS_PCAPS_DIR", DEFAULT_PCAPS))
    if not folder.is_dir() or not any(folder.glob("*.pcap")):
        pytest.skip(
            f"recorded captures not found at {folder}: set FLOWS_PCAPS_DIR to a folder of pcap "
            "files (../shared/data/pcaps) to run this test"
        )
    return folder
