"""The gate fails graphs that approximate the pickle instead of reproducing it."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.pipeline import Pipeline

from convert.check_data import CheckData
from convert.conversion import gate
from convert.graph_model import build_graph
from convert.pickle_set import PickleSet, read_model
from tests.convert.conftest import FixtureSet, with_nearest_float32_splits


def naive_skl2onnx(pickle_set: PickleSet, name: str) -> bytes:
    """`Pipeline(scaler, model)` converted by skl2onnx in float32, wrapped in the contract's
    inputs and outputs: the conversion that flips labels on heavy-tailed flows."""
    model = pickle_set.models[name]
    width = len(pickle_set.feature_names)
    naive = convert_sklearn(
        Pipeline([("scaler", pickle_set.scaler), ("model", model)]),
        initial_types=[("x", FloatTensorType([None, width]))],
        options={id(model): {"zipmap": False}},
        target_opset={"": 21, "ai.onnx.ml": 3},
    )
    inner = list(naive.graph.node)
    for node in inner:
        node.output[:] = ["label_index" if out == "label" else out for out in node.output]
    nodes = [
        helper.make_node("IsNaN", ["features"], ["nan"]),
        helper.make_node("IsInf", ["features"], ["inf"]),
        helper.make_node("Or", ["nan", "inf"], ["bad"]),
        helper.make_node("Where", ["bad", "zero", "features"], ["clean"]),
        helper.make_node("Cast", ["clean"], ["x"], to=TensorProto.FLOAT),
        *inner,
        helper.make_node("Gather", ["class_labels", "label_index"], ["label"], axis=0),
    ]
    constants = [
        numpy_helper.from_array(np.array(0.0), "zero"),
        numpy_helper.from_array(np.array(pickle_set.class_labels, dtype=object), "class_labels"),
    ]
    graph = helper.make_graph(
        nodes,
        "naive",
        [helper.make_tensor_value_info("features", TensorProto.DOUBLE, [None, width])],
        [
            helper.make_tensor_value_info("label", TensorProto.STRING, [None]),
            naive.graph.output[1],
        ],
        [*naive.graph.initializer, *constants],
    )
    wrapped = helper.make_model(graph, opset_imports=naive.opset_import)
    wrapped.ir_version = naive.ir_version
    onnx.checker.check_model(wrapped)
    return wrapped.SerializeToString()


def nearest_float32_splits(pickle_set: PickleSet, name: str) -> bytes:
    """The exact graph with one deliberate error: splits rounded to the nearest float32
    instead of toward -inf."""
    model = read_model(pickle_set, name)
    graph = build_graph(
        name, model, pickle_set.scaler, pickle_set.feature_names, pickle_set.class_labels, {}
    )
    return with_nearest_float32_splits(graph, model.forest).SerializeToString()


BROKEN = [
    pytest.param(naive_skl2onnx, id="skl2onnx float32 pipeline"),
    pytest.param(nearest_float32_splits, id="splits rounded to nearest float32"),
]


@pytest.mark.parametrize("broken", BROKEN)
@pytest.mark.parametrize("name", ["random_forest", "decision_tree"])
def test_gate_fails_a_misconverted_graph_and_names_the_rows(
    binary_pickles: FixtureSet, broken: object, name: str
) -> None:
    pickle_set = binary_pickles.load()
    onnx_bytes = broken(pickle_set, name)  # type: ignore[operator]
    check = CheckData.from_array(binary_pickles.flows, "fixture flows")
    report = gate(pickle_set, read_model(pickle_set, name), onnx_bytes, check)
    assert not report.passed
    assert report.label_mismatches > 0
    assert 0 < len(report.failures) <= 5
    assert all("pickle" in line and "graph" in line for line in report.failures)
