"""Test-only: a binary model with a rule a test can predict: a flow to a port below 1024 is an
ATTACK (probability 0.9), any other BENIGN (0.8). A contract-conforming artifact (the graph
contract of docs/converting.md, the converter's manifest), loaded by the server's own loader."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from models.features import FEATURE_NAMES
from tests.server.artifact_builder import manifest_for

CLASSES = ("ATTACK", "BENIGN")
LOW_PORTS = 1024


def port_graph() -> bytes:
    n = len(FEATURE_NAMES)
    nodes = [
        helper.make_node("Slice", ["features", "starts", "ends", "axes"], ["port"]),
        helper.make_node("Less", ["port", "limit"], ["low"]),
        helper.make_node("Where", ["low", "attack_row", "benign_row"], ["probabilities"]),
        helper.make_node("ArgMax", ["probabilities"], ["index"], axis=1, keepdims=0),
        helper.make_node("Gather", ["classes", "index"], ["label"], axis=0),
    ]
    initializers = [
        numpy_helper.from_array(np.array([0], np.int64), "starts"),
        numpy_helper.from_array(np.array([1], np.int64), "ends"),
        numpy_helper.from_array(np.array([1], np.int64), "axes"),
        numpy_helper.from_array(np.array(float(LOW_PORTS)), "limit"),
        numpy_helper.from_array(np.array([[0.9, 0.1]], np.float32), "attack_row"),
        numpy_helper.from_array(np.array([[0.2, 0.8]], np.float32), "benign_row"),
        helper.make_tensor(
            "classes",
            TensorProto.STRING,
            [2],
            [c.encode() for c in CLASSES],  # type: ignore[misc]  # onnx's stubs: numbers only
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "port_rule",
        [helper.make_tensor_value_info("features", TensorProto.DOUBLE, ["N", n])],
        [
            helper.make_tensor_value_info("label", TensorProto.STRING, ["N"]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 2]),
        ],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    data: bytes = model.SerializeToString()
    return data


def write_port_model(root: Path, name: str = "ports", version: int = 1) -> Path:
    graph = port_graph()
    folder = root / name / str(version)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.onnx").write_bytes(graph)
    manifest = manifest_for(name, version, CLASSES, graph, len(FEATURE_NAMES))
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return root
