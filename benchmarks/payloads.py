"""Request bodies for the HTTP benchmark, built once from the same rows for every server."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import numpy as np
import orjson

from benchmarks.predictors import Rows

JSON = {"Content-Type": "application/json"}
CSV = {"Content-Type": "text/csv"}


def single_json(row: Rows, model_name: str) -> bytes:
    """The old API's `/predict` body: 78 numbers and the model name."""
    return orjson.dumps({"features": row.tolist(), "model_name": model_name})


def batch_json(rows: Rows, model_name: str) -> bytes:
    """The old API's `/predict/batch` body: a list of single-prediction bodies."""
    return orjson.dumps([{"features": row, "model_name": model_name} for row in rows.tolist()])


def batch_csv(rows: Rows, feature_names: Sequence[str]) -> bytes:
    """A flow extractor's CSV: header of feature names, one flow per line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(feature_names)
    writer.writerows(rows.tolist())
    return out.getvalue().encode()


def v2_json(rows: Rows) -> bytes:
    """An Open Inference Protocol request with the rows as a JSON FP64 tensor."""
    tensor = {"name": "features", "shape": list(rows.shape), "datatype": "FP64"}
    return orjson.dumps({"inputs": [{**tensor, "data": rows.ravel().tolist()}]})


def v2_binary(rows: Rows) -> tuple[bytes, dict[str, str]]:
    """An Open Inference Protocol request with the binary tensor data extension, both ways.

    The JSON header names the input's byte size and asks for binary outputs; the raw
    little-endian float64 rows follow it. Returns the body and its headers.
    """
    data = np.ascontiguousarray(rows, dtype="<f8").tobytes()
    header = orjson.dumps(
        {
            "inputs": [
                {
                    "name": "features",
                    "shape": list(rows.shape),
                    "datatype": "FP64",
                    "parameters": {"binary_data_size": len(data)},
                }
            ],
            "outputs": [
                {"name": "label", "parameters": {"binary_data": True}},
                {"name": "probabilities", "parameters": {"binary_data": True}},
            ],
        }
    )
    headers = {
        "Content-Type": "application/octet-stream",
        "Inference-Header-Content-Length": str(len(header)),
    }
    return header + data, headers
