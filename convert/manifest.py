"""`manifest.json` beside each model.onnx: all the server needs, so it never opens a pickle."""

from __future__ import annotations

import hashlib
import json
import platform
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import onnx

from convert.repository import BATCH_FILE, MODEL_FILE
from convert.tree_model import TreeModel
from models.pickle_set import PickleSet

SCHEMA = 1
# The batch graph sums inside the tree operator, in the trees' order on one thread only.
BATCH_THREADS = 1
CONVERTER = "ids-inference"
# distribution name -> the name the manifest records
LIBRARIES = {
    "scikit-learn": "scikit-learn",
    "xgboost-cpu": "xgboost",
    "numpy": "numpy",
    "onnx": "onnx",
    "onnxruntime": "onnxruntime",
}


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def libraries() -> dict[str, str]:
    found = {name: _version(dist) for dist, name in LIBRARIES.items()}
    if found["xgboost"] is None:  # the full `xgboost` wheel instead of `xgboost-cpu`
        found["xgboost"] = _version("xgboost")
    return {"python": platform.python_version(), **{k: v for k, v in found.items() if v}}


def converter_version() -> str:
    return _version(CONVERTER) or "unknown"


def graph_metadata(pickle_set: PickleSet, name: str) -> dict[str, str]:
    """What the graph itself carries besides names and labels (its `metadata_props`)."""
    sources = {file: source.sha256 for file, source in pickle_set.sources_of(name).items()}
    return {
        "source_sha256": json.dumps(sources, sort_keys=True),
        "libraries": json.dumps(libraries(), sort_keys=True),
        "converter": f"{CONVERTER} {converter_version()}",
        "schema": str(SCHEMA),
    }


def build_manifest(
    *,
    name: str,
    version: int,
    pickle_set: PickleSet,
    model: TreeModel,
    onnx_bytes: bytes,
    parity: dict[str, Any],
    batch_bytes: bytes | None = None,
    batch_parity: dict[str, Any] | None = None,
    created: datetime | None = None,
) -> dict[str, Any]:
    """The manifest of one model version. With `batch_bytes`, a `batch` entry names the batch
    graph (an optional part of schema 1: servers that do not know it serve model.onnx)."""
    n_features, n_classes = len(pickle_set.feature_names), len(pickle_set.class_labels)
    return {
        "schema": SCHEMA,
        "name": name,
        "version": version,
        "created": (created or datetime.now(UTC)).isoformat(timespec="seconds"),
        "model": {
            "kind": name,
            "type": model.type_name,
            "task": "binary" if n_classes == 2 else "multiclass",
            "hyperparameters": model.hyperparameters,
            "trees": model.forest.n_trees,
            "nodes": model.forest.n_nodes,
            "leaves": model.forest.n_leaves,
        },
        "inputs": [{"name": "features", "datatype": "FP64", "shape": [-1, n_features]}],
        "outputs": [
            {"name": "label", "datatype": "BYTES", "shape": [-1]},
            {"name": "probabilities", "datatype": "FP32", "shape": [-1, n_classes]},
        ],
        "feature_names": list(pickle_set.feature_names),
        "class_labels": list(pickle_set.class_labels),
        "onnx": _graph_entry(MODEL_FILE, onnx_bytes),
        "sources": {
            file: {"sha256": source.sha256, "bytes": source.bytes}
            for file, source in pickle_set.sources_of(name).items()
        },
        "parity": parity,
        **(
            {}
            if batch_bytes is None
            else {
                "batch": {
                    **_graph_entry(BATCH_FILE, batch_bytes),
                    "intra_op_threads": BATCH_THREADS,
                    "parity": batch_parity,
                }
            }
        ),
        "libraries": libraries(),
        "converter": {"name": CONVERTER, "version": converter_version(), "options": model.options},
    }


def _graph_entry(file: str, graph: bytes) -> dict[str, Any]:
    proto = onnx.load_from_string(graph)
    return {
        "file": file,
        "sha256": hashlib.sha256(graph).hexdigest(),
        "bytes": len(graph),
        "opsets": {o.domain or "": o.version for o in proto.opset_import},
    }
