"""Where the shared material is: `../shared` beside the project, each part overridable by a
variable (tests, benchmarks and CI read it only through these functions).

- `CICIDS2017_DIR`: the real CICIDS2017 flow excerpts (`data/cicids2017`)
- `PCAPS_DIR`: recordings with the reference flow meter's CSV beside each (`data/pcaps`)
- `CFM`: the reference flow meter's command (`reference/cicflowmeter/cfm`)
- `TRAFFIC`: the scenario recorder (`tools/traffic`)
- `SHARED_DIR`: the folder holding all of them
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _located(variable: str, below_shared: str) -> Path:
    default = Path(os.environ.get("SHARED_DIR", PROJECT_ROOT.parent / "shared")) / below_shared
    return Path(os.environ.get(variable, default))


def cicids2017_dir() -> Path:
    return _located("CICIDS2017_DIR", "data/cicids2017")


def pcaps_dir() -> Path:
    return _located("PCAPS_DIR", "data/pcaps")


def cfm() -> Path:
    return _located("CFM", "reference/cicflowmeter/cfm")


def traffic() -> Path:
    return _located("TRAFFIC", "tools/traffic")
