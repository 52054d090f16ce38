"""`manifest.json`: what the server knows about a model artifact, checked against the contract.

The contract is "Model artifacts: the graph contract" in docs/converting.md: one input of raw
features, a `label` string output and a `probabilities` float output in `class_labels` order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson

from server.errors import ArtifactError

SCHEMA = 1
INPUT = "features"
LABEL = "label"
PROBABILITIES = "probabilities"
_SHA256 = re.compile(r"[0-9a-f]{64}")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TensorSpec:
    name: str
    datatype: str
    shape: tuple[int, ...]

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}


@dataclass(frozen=True, slots=True)
class Manifest:
    """The parts of `manifest.json` the server uses; `document` keeps the whole of it."""

    name: str
    version: int
    kind: str
    type: str
    task: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    feature_names: tuple[str, ...]
    class_labels: tuple[str, ...]
    onnx_file: str
    sha256: str
    size: int
    document: Mapping[str, Any]
    # The batch-layout graph for large batches, when the artifact has one (converters before
    # it wrote none): same inputs and outputs, run with `batch.threads` intra-op threads.
    batch: BatchGraph | None = None


@dataclass(frozen=True, slots=True)
class BatchGraph:
    """The manifest's optional `batch` entry: a second graph file and how it must be run."""

    file: str
    sha256: str
    size: int
    threads: int


class _Reader:
    """Typed access to a parsed manifest, with errors naming the file and the field."""

    def __init__(self, path: Path, document: Any) -> None:
        if not isinstance(document, dict):
            raise ArtifactError(f"{path}: a manifest must be a JSON object")
        self.path = path
        self.document: dict[str, Any] = document

    def fail(self, field: str, problem: str) -> ArtifactError:
        return ArtifactError(f"{self.path}: field {field!r} {problem}")

    def get(self, field: str, kind: type[T]) -> T:
        value: Any = self.document
        for part in field.split("."):
            if not isinstance(value, dict) or part not in value:
                raise self.fail(field, "is missing")
            value = value[part]
        # bool is an int in Python, never a valid count or version here
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(field, f"must be of type {kind.__name__}")
        return value

    def names(self, field: str) -> tuple[str, ...]:
        values = self.get(field, list)
        if not values or not all(isinstance(value, str) and value for value in values):
            raise self.fail(field, "must be a non-empty list of non-empty strings")
        if len(set(values)) != len(values):
            raise self.fail(field, "must not repeat a name")
        return tuple(values)

    def tensors(self, field: str) -> tuple[TensorSpec, ...]:
        specs = []
        for index, item in enumerate(self.get(field, list)):
            where = f"{field}[{index}]"
            if not isinstance(item, dict):
                raise self.fail(where, "must be an object")
            name, datatype, shape = item.get("name"), item.get("datatype"), item.get("shape")
            if not isinstance(name, str) or not isinstance(datatype, str):
                raise self.fail(where, "must have a string name and datatype")
            if not isinstance(shape, list) or not all(
                isinstance(dim, int) and not isinstance(dim, bool) for dim in shape
            ):
                raise self.fail(where, "must have a shape that is a list of integers")
            specs.append(TensorSpec(name, datatype, tuple(shape)))
        return tuple(specs)


def read_manifest(path: Path) -> Manifest:
    """Parse and check one `manifest.json` against the graph contract."""
    try:
        document = orjson.loads(path.read_bytes())
    except OSError as error:
        raise ArtifactError(f"{path}: cannot read the manifest ({error.strerror})") from None
    except orjson.JSONDecodeError as error:
        raise ArtifactError(f"{path}: the manifest is not valid JSON ({error})") from None
    reader = _Reader(path, document)
    if reader.get("schema", int) != SCHEMA:
        raise reader.fail("schema", f"is {reader.document['schema']}; this server reads {SCHEMA}")
    version = reader.get("version", int)
    if version < 1:
        raise reader.fail("version", "must be a positive integer")
    onnx_file, sha256, size = _graph_file(reader, "onnx")
    batch = None
    if "batch" in reader.document:
        batch_file, batch_sha256, batch_size = _graph_file(reader, "batch")
        if batch_file == onnx_file:
            raise reader.fail("batch.file", "must name another file than onnx.file")
        threads = reader.get("batch.intra_op_threads", int)
        if threads < 1:
            raise reader.fail("batch.intra_op_threads", "must be a positive integer")
        batch = BatchGraph(batch_file, batch_sha256, batch_size, threads)
    manifest = Manifest(
        name=reader.get("name", str),
        version=version,
        kind=reader.get("model.kind", str),
        type=reader.get("model.type", str),
        task=reader.get("model.task", str),
        inputs=reader.tensors("inputs"),
        outputs=reader.tensors("outputs"),
        feature_names=reader.names("feature_names"),
        class_labels=reader.names("class_labels"),
        onnx_file=onnx_file,
        sha256=sha256,
        size=size,
        document=document,
        batch=batch,
    )
    _check_contract(reader, manifest)
    return manifest


def _graph_file(reader: _Reader, field: str) -> tuple[str, str, int]:
    """`field.file`, `field.sha256` and `field.bytes` of a graph entry, checked."""
    file = reader.get(f"{field}.file", str)
    if Path(file).name != file or file in {"", ".", ".."}:
        raise reader.fail(f"{field}.file", "must be a file name inside the version folder")
    sha256 = reader.get(f"{field}.sha256", str).lower()
    if not _SHA256.fullmatch(sha256):
        raise reader.fail(f"{field}.sha256", "must be 64 hexadecimal digits")
    return file, sha256, reader.get(f"{field}.bytes", int)


def _check_contract(reader: _Reader, manifest: Manifest) -> None:
    expected_inputs = (TensorSpec(INPUT, "FP64", (-1, len(manifest.feature_names))),)
    if manifest.inputs != expected_inputs:
        raise reader.fail(
            "inputs", f"must be {[spec.as_json() for spec in expected_inputs]} (the graph contract)"
        )
    expected_outputs = {
        TensorSpec(LABEL, "BYTES", (-1,)),
        TensorSpec(PROBABILITIES, "FP32", (-1, len(manifest.class_labels))),
    }
    if set(manifest.outputs) != expected_outputs or len(manifest.outputs) != 2:
        wanted = sorted((spec.as_json() for spec in expected_outputs), key=lambda s: s["name"])
        raise reader.fail("outputs", f"must be {wanted} (the graph contract)")
