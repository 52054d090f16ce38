"""Scoring through a running server: Open Inference Protocol (v2) requests with the binary
tensor data extension, the flows as one FP64 tensor, the label and probabilities back as raw
bytes. The standard library's HTTP client: no dependency for one POST per batch.

The model's classes and latest version come from the server's `/models`; every request then
names that version (`/v2/models/NAME/versions/V/infer`), so a reload on the server cannot mix
two versions' answers in one run.
"""

from __future__ import annotations

import json
import os
import struct
import urllib.error
import urllib.request
from typing import Any

import numpy as np

from detect.errors import DetectError
from detect.local import feature_columns
from detect.verdicts import Features, Verdicts

HEADER_LENGTH = "Inference-Header-Content-Length"
# The server's default IDS_MAX_BATCH_ROWS: larger batches go as several requests.
ROWS_PER_REQUEST = 1000
TIMEOUT_S = 60.0
TOKEN_VARIABLE = "IDS_DETECT_TOKEN"  # a bearer token, for a server that requires one


class RemoteScorer:
    """The latest version of `name` on the server at `url` (e.g. `http://127.0.0.1:8000`)."""

    def __init__(self, url: str, name: str, rows_per_request: int = ROWS_PER_REQUEST) -> None:
        self.url = url.rstrip("/")
        self.where = self.url
        self.rows_per_request = rows_per_request
        token = os.environ.get(TOKEN_VARIABLE, "").strip()
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        listing = self._get("/models")
        entries = {entry.get("name"): entry for entry in listing.get("models", [])}
        entry = entries.get(name)
        if entry is None:
            served = ", ".join(repr(known) for known in sorted(entries)) or "no models"
            raise DetectError(f"unknown model {name!r}: the server at {self.url} serves {served}")
        self.name = name
        self.version = str(entry["version"])
        self.class_labels = tuple(str(label) for label in entry["label_classes"])
        self._path = f"/v2/models/{name}/versions/{self.version}"
        metadata = self._get(self._path)
        inputs = metadata.get("inputs") or [{}]
        self._input = str(inputs[0].get("name", "features"))
        width = int(entry.get("feature_count", 78))
        if width != 78:
            raise DetectError(
                f"model {name!r} on {self.url} reads {width} features; the flow meter makes 78"
            )
        # The v2 metadata names no features: the server's models read CICIDS2017's 78 in model
        # order, which is the flow meter's (a manifest with other names is refused above by count,
        # and the server maps named features itself only for named JSON).
        names = metadata.get("feature_names")
        self._columns = feature_columns(tuple(str(n) for n in names)) if names else None

    def score(self, features: Features) -> Verdicts:
        if self._columns is not None:
            features = features[:, self._columns]
        labels: list[str] = []
        probabilities = []
        for start in range(0, len(features), self.rows_per_request):
            rows = np.ascontiguousarray(features[start : start + self.rows_per_request], "<f8")
            batch_labels, batch_probabilities = self._infer(rows)
            labels += batch_labels
            probabilities.append(batch_probabilities)
        if not probabilities:
            return Verdicts([], np.empty((0, len(self.class_labels)), np.float32))
        return Verdicts(labels, np.concatenate(probabilities))

    def close(self) -> None:
        pass

    def _infer(self, rows: np.ndarray[Any, np.dtype[np.float64]]) -> tuple[list[str], Any]:
        raw = rows.tobytes()
        header = {
            "inputs": [
                {
                    "name": self._input,
                    "datatype": "FP64",
                    "shape": list(rows.shape),
                    "parameters": {"binary_data_size": len(raw)},
                }
            ],
            "outputs": [
                {"name": "label", "parameters": {"binary_data": True}},
                {"name": "probabilities", "parameters": {"binary_data": True}},
            ],
        }
        head = json.dumps(header).encode()
        request = urllib.request.Request(
            self.url + self._path + "/infer",
            data=head + raw,
            method="POST",
            headers={
                **self._headers,
                "Content-Type": "application/octet-stream",
                HEADER_LENGTH: str(len(head)),
            },
        )
        body, length = self._send(request)
        return decode_response(body, length, len(rows), len(self.class_labels), self.url)

    def _get(self, path: str) -> dict[str, Any]:
        request = urllib.request.Request(self.url + path, headers=self._headers)
        body, _ = self._send(request)
        try:
            document = json.loads(body)
        except ValueError:
            raise DetectError(
                f"{self.url}{path} did not answer JSON: is it ids-inference?"
            ) from None
        if not isinstance(document, dict):
            raise DetectError(f"{self.url}{path} answered {type(document).__name__}, not an object")
        return document

    def _send(self, request: urllib.request.Request) -> tuple[bytes, int | None]:
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                body: bytes = response.read()
                length = response.headers.get(HEADER_LENGTH)
                return body, int(length) if length is not None else None
        except urllib.error.HTTPError as error:
            detail = _error_text(error.read())
            if error.code in (401, 403):
                told = "the server refuses it" if self._headers else "it is not set"
                detail += f" (the bearer token is read from {TOKEN_VARIABLE}: {told})"
            raise DetectError(
                f"the server at {self.url} answered {error.code} to {request.full_url}: {detail}"
            ) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise DetectError(f"cannot reach the server at {self.url}: {reason}") from None


def _error_text(body: bytes) -> str:
    try:
        document = json.loads(body)
    except ValueError:
        return body[:200].decode("utf-8", "replace") or "(no body)"
    if isinstance(document, dict) and "error" in document:
        return str(document["error"])
    return json.dumps(document)[:200]


def decode_response(
    body: bytes, header_length: int | None, rows: int, classes: int, url: str
) -> tuple[list[str], np.ndarray[Any, np.dtype[np.float32]]]:
    """The labels and probabilities of a v2 response whose outputs came as binary data."""
    if header_length is None or not 0 <= header_length <= len(body):
        raise DetectError(f"the server at {url} answered without binary outputs")
    header = json.loads(body[:header_length])
    offset = header_length
    outputs: dict[str, bytes] = {}
    for output in header.get("outputs", []):
        size = int(output.get("parameters", {}).get("binary_data_size", -1))
        if size < 0 or offset + size > len(body):
            raise DetectError(f"the server at {url} answered a malformed binary output")
        outputs[output["name"]] = body[offset : offset + size]
        offset += size
    if "label" not in outputs or "probabilities" not in outputs:
        raise DetectError(f"the server at {url} answered without label and probabilities")
    labels = _strings(outputs["label"])
    probabilities = np.frombuffer(outputs["probabilities"], "<f4").astype(np.float32)
    if len(labels) != rows or probabilities.size != rows * classes:
        raise DetectError(
            f"the server at {url} answered {len(labels)} labels and {probabilities.size} "
            f"probabilities for {rows} flows of {classes} classes"
        )
    return labels, probabilities.reshape(rows, classes)


def _strings(raw: bytes) -> list[str]:
    """BYTES elements: each a 4-byte little-endian length, then the bytes."""
    texts = []
    offset = 0
    while offset < len(raw):
        (length,) = struct.unpack_from("<I", raw, offset)
        offset += 4
        texts.append(raw[offset : offset + length].decode("utf-8"))
        offset += length
    return texts
