"""Test-only: writes model artifacts that follow the graph contract (docs/converting.md), built with
`onnx.helper` (cleaning, scaling, a linear layer, Softmax, ArgMax and a Gather of the class names,
the same signature as the converted forests), plus broken variants for the error paths."""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from models.features import FEATURE_NAMES

BINARY = ("ATTACK", "BENIGN")
MULTICLASS = (
    "BENIGN",
    "DDoS",
    "PortScan",
    "Web Attack - Brute Force",
    "Web Attack - Sql Injection",
    "Web Attack - XSS",
)
DEFAULT_MODELS = {"random_forest": BINARY, "xgboost": MULTICLASS, "decision_tree": BINARY}


def build_graph(
    class_labels: tuple[str, ...],
    seed: int = 0,
    n_features: int = len(FEATURE_NAMES),
    input_name: str = "features",
    columns: int | None = None,
    slow: int = 0,
    fragile: bool = False,
) -> bytes:
    """A contract-conforming graph; `input_name` and `columns` can break it on purpose. `slow`
    adds that many dense layers of 1024 units per row, whose sum joins the logits scaled by 1e-30
    (so it cannot be optimised away but changes no answer): 128 layers take about 1 ms a row.
    `fragile` makes a graph that only runs on an even number of rows: it passes the server's
    load-time probe (two rows) and fails at run time on a single row, an unexpected error."""
    rng = np.random.default_rng(seed)
    columns = len(class_labels) if columns is None else columns
    # Flow features span many orders of magnitude; log-like scales keep every class reachable.
    mean = rng.uniform(0, 100, n_features)
    scale = 10.0 ** rng.uniform(1, 7, n_features)
    weights = rng.normal(0, 3 / np.sqrt(n_features), (n_features, columns)).astype(np.float32)
    bias = rng.normal(0, 0.5, columns).astype(np.float32)
    nodes = [
        helper.make_node("IsNaN", [input_name], ["is_nan"]),
        helper.make_node("IsInf", [input_name], ["is_inf"]),
        helper.make_node("Or", ["is_nan", "is_inf"], ["is_bad"]),
        helper.make_node("Where", ["is_bad", "zero", input_name], ["clean"]),
        helper.make_node("Reshape", ["clean", "pairs"], ["clean_pairs"]),
        helper.make_node("Reshape", ["clean_pairs", "rows"], ["clean_rows"]),
        helper.make_node("Sub", ["clean_rows", "mean"], ["centered"]),
        helper.make_node("Div", ["centered", "scale"], ["scaled"]),
        helper.make_node("Cast", ["scaled"], ["scaled32"], to=TensorProto.FLOAT),
        helper.make_node("MatMul", ["scaled32", "weights"], ["product"]),
        helper.make_node("Add", ["product", "bias"], ["fast_logits"]),
    ]
    tail = [
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        helper.make_node("ArgMax", ["probabilities"], ["index"], axis=1, keepdims=0),
        helper.make_node("Gather", ["classes", "index"], ["label"], axis=0),
    ]
    initializers = [
        numpy_helper.from_array(np.array(0.0), "zero"),
        numpy_helper.from_array(
            np.array([-1, 2, n_features] if fragile else [-1, 1, n_features]), "pairs"
        ),
        numpy_helper.from_array(np.array([-1, n_features]), "rows"),
        numpy_helper.from_array(mean, "mean"),
        numpy_helper.from_array(scale, "scale"),
        numpy_helper.from_array(weights, "weights"),
        numpy_helper.from_array(bias, "bias"),
        helper.make_tensor(
            "classes",
            TensorProto.STRING,
            [len(class_labels)],
            [c.encode() for c in class_labels],  # type: ignore[misc]  # onnx's stubs: numbers only
        ),
    ]
    if slow:
        hidden = "hidden_0"
        nodes.append(helper.make_node("MatMul", ["scaled32", "slow_in"], [hidden]))
        for layer in range(1, slow + 1):
            nodes += [
                helper.make_node("MatMul", [hidden, "slow_square"], [f"dense_{layer}"]),
                helper.make_node("Tanh", [f"dense_{layer}"], [f"hidden_{layer}"]),
            ]
            hidden = f"hidden_{layer}"
        nodes += [
            helper.make_node("ReduceSum", [hidden, "one_axis"], ["hidden_sum"], keepdims=1),
            helper.make_node("Mul", ["hidden_sum", "tiny"], ["nothing"]),
            helper.make_node("Add", ["fast_logits", "nothing"], ["logits"]),
        ]
        initializers += [
            numpy_helper.from_array(
                rng.normal(0, 0.1, (n_features, 1024)).astype(np.float32), "slow_in"
            ),
            numpy_helper.from_array(
                rng.normal(0, 0.03, (1024, 1024)).astype(np.float32), "slow_square"
            ),
            numpy_helper.from_array(np.array([1], dtype=np.int64), "one_axis"),
            numpy_helper.from_array(np.array(1e-30, dtype=np.float32), "tiny"),
        ]
    else:
        nodes.append(helper.make_node("Identity", ["fast_logits"], ["logits"]))
    graph = helper.make_graph(
        nodes + tail,
        "test_model",
        [helper.make_tensor_value_info(input_name, TensorProto.DOUBLE, ["N", n_features])],
        [
            helper.make_tensor_value_info("label", TensorProto.STRING, ["N"]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", columns]),
        ],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, {"feature_names": json.dumps(list(FEATURE_NAMES[:n_features]))})
    onnx.checker.check_model(model)
    data: bytes = model.SerializeToString()
    return data


def manifest_for(
    name: str, version: int, class_labels: tuple[str, ...], graph: bytes, n_features: int
) -> dict[str, Any]:
    """The manifest the converter writes (docs/converting.md's example, field for field)."""
    task = "binary" if len(class_labels) == 2 else "multiclass"
    return {
        "schema": 1,
        "name": name,
        "version": version,
        "created": "2026-11-27T18:55:00+00:00",
        "model": {
            "kind": name,
            "type": "LinearTestModel",
            "task": task,
            "hyperparameters": {"seed": version},
        },
        "inputs": [{"name": "features", "datatype": "FP64", "shape": [-1, n_features]}],
        "outputs": [
            {"name": "label", "datatype": "BYTES", "shape": [-1]},
            {"name": "probabilities", "datatype": "FP32", "shape": [-1, len(class_labels)]},
        ],
        "feature_names": list(FEATURE_NAMES[:n_features]),
        "class_labels": list(class_labels),
        "onnx": {
            "file": "model.onnx",
            "sha256": hashlib.sha256(graph).hexdigest(),
            "bytes": len(graph),
            "opsets": {"": 17},
        },
        "sources": {},
        "parity": {"passed": True, "rows": 0},
        "libraries": {"onnx": onnx.__version__},
        "converter": {"name": "tests.server.artifact_builder", "version": "0", "options": {}},
    }


def write_artifact(
    root: Path,
    name: str,
    version: int,
    class_labels: tuple[str, ...] = BINARY,
    n_features: int = len(FEATURE_NAMES),
    graph: bytes | None = None,
    edit: Callable[[dict[str, Any]], None] | None = None,
    slow: int = 0,
    fragile: bool = False,
) -> Path:
    """Write `root/name/version/{model.onnx, manifest.json}`; `edit` may alter the manifest."""
    if graph is None:
        seed = zlib.crc32(f"{name}/{version}".encode())
        graph = build_graph(
            class_labels, seed=seed, n_features=n_features, slow=slow, fragile=fragile
        )
    folder = root / name / str(version)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.onnx").write_bytes(graph)
    manifest = manifest_for(name, version, class_labels, graph, n_features)
    if edit is not None:
        edit(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return folder


def write_repository(
    root: Path,
    models: dict[str, tuple[str, ...]] | None = None,
    versions: int = 1,
) -> Path:
    """A repository of several models, each with `versions` versions (1..versions)."""
    for name, class_labels in (DEFAULT_MODELS if models is None else models).items():
        for version in range(1, versions + 1):
            write_artifact(root, name, version, class_labels)
    return root
