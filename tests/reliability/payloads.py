"""Request bodies for the reliability tests: flow-like rows in every format the server reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.payloads import JSON, batch_json, single_json, v2_binary
from benchmarks.reliability.traffic import Request
from benchmarks.wrk import Payload

Rows = np.ndarray[Any, np.dtype[np.float64]]
FEATURES = 78


def flow_rows(count: int, seed: int = 11) -> Rows:
    """Heavy-tailed magnitudes like CICFlowMeter's, with the odd infinity and NaN."""
    rng = np.random.default_rng(seed)
    rows = rng.lognormal(4, 3, size=(count, FEATURES)).round(3)
    rows[::7, 14] = np.inf
    rows[3::11, 15] = np.nan
    return rows


def single_requests(count: int = 16, model: str = "random_forest") -> list[Request]:
    # orjson writes NaN and infinity as null, which the API refuses: finite rows only here.
    rows = np.nan_to_num(flow_rows(count), posinf=1e9, neginf=-1e9)
    return [Request("POST", "/predict", single_json(row, model), JSON) for row in rows]


def batch_request(rows: int = 1000, model: str = "random_forest") -> Request:
    matrix = np.nan_to_num(flow_rows(rows), posinf=1e9, neginf=-1e9)
    return Request("POST", "/predict/batch", batch_json(matrix, model), JSON)


def binary_request(rows: int = 100, model: str = "xgboost") -> Request:
    body, headers = v2_binary(flow_rows(rows))
    return Request("POST", f"/v2/models/{model}/infer", body, headers)


def wrk_payloads(requests: list[Request], folder: Path) -> list[Payload]:
    """The same requests as files for wrk's Lua script."""
    payloads = []
    for index, request in enumerate(requests):
        body_file = folder / f"payload-{index}.bin"
        body_file.write_bytes(request.body)
        payloads.append(Payload(body_file, dict(request.headers)))
    return payloads
