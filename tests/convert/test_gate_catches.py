"""The gate fails graphs that approximate the pickle instead of reproducing it."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.pipeline import Pipeline
from xgboost import DMatrix

from convert.check_data import CheckData
from convert.conversion import gate
from convert.forest import float32_below
from convert.graph_model import build_graph
from convert.parity import ParityReport
from convert.pickle_set import read_model
from convert.tree_model import TreeModel
from models.pickle_set import PickleSet
from tests.convert.conftest import FixtureSet, with_nearest_float32_splits


def serialized(model: onnx.ModelProto) -> bytes:
    data: bytes = model.SerializeToString()
    return data


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
    return serialized(wrapped)


def exact_graph(pickle_set: PickleSet, name: str) -> tuple[onnx.ModelProto, TreeModel]:
    """The graph `convert` builds for the model, and the model in the converter's terms."""
    model = read_model(pickle_set, name)
    graph = build_graph(
        name, model, pickle_set.scaler, pickle_set.feature_names, pickle_set.class_labels, {}
    )
    return graph, model


def tree_attribute(graph: onnx.ModelProto, name: str) -> onnx.AttributeProto:
    trees = next(node for node in graph.graph.node if node.op_type == "TreeEnsemble")
    attribute: onnx.AttributeProto = next(a for a in trees.attribute if a.name == name)
    return attribute


def nearest_float32_splits(pickle_set: PickleSet, name: str) -> bytes:
    """The exact graph with one deliberate error: splits rounded to the nearest float32
    instead of toward -inf."""
    graph, model = exact_graph(pickle_set, name)
    return serialized(with_nearest_float32_splits(graph, model.forest))


def xgboost_split_kept_inclusive(pickle_set: PickleSet, name: str) -> bytes:
    """XGBoost's `x < s` written as `x <= s` rather than `x <=` the float32 just below s: a flow
    exactly on a split goes left where XGBoost sends it right."""
    graph, model = exact_graph(pickle_set, name)
    splits = tree_attribute(graph, "nodes_splits")
    assert np.array_equal(numpy_helper.to_array(splits.t), float32_below(model.forest.threshold))
    splits.t.CopyFrom(numpy_helper.from_array(model.forest.threshold.astype(np.float32)))
    return serialized(graph)


def xgboost_leaf_nudged(pickle_set: PickleSet, name: str, flows: np.ndarray) -> bytes:
    """One leaf value moved by 1e-4: the leaf of the first tree that most of `flows` reach.

    Labels hardly move; the margins, and so the probabilities, of every flow reaching it do.
    """
    graph, model = exact_graph(pickle_set, name)
    booster = pickle_set.models[name].get_booster()
    trees = json.loads(booster.save_raw("json"))["learner"]["gradient_booster"]["model"]["trees"]
    leaves = np.flatnonzero(np.asarray(trees[0]["left_children"]) == -1)
    assert model.forest.roots[0] >= 0, "the first tree is one leaf: no leaf weight to nudge"
    scaled = pickle_set.scaler.transform(np.where(np.isfinite(flows), flows, 0.0))
    reached = booster.predict(DMatrix(scaled), pred_leaf=True)[:, 0].astype(np.int64)
    # The first tree's leaves lead the operator's leaf weights, in the tree's node order.
    leaf = int(np.searchsorted(leaves, np.bincount(reached).argmax()))
    weights = tree_attribute(graph, "leaf_weights")
    values = numpy_helper.to_array(weights.t).copy()
    values[leaf] += np.float32(1e-4)
    weights.t.CopyFrom(numpy_helper.from_array(values))
    return serialized(graph)


def assert_refused(report: ParityReport) -> None:
    assert not report.passed
    assert 0 < len(report.failures) <= 5
    assert all("pickle" in line and "graph" in line for line in report.failures)


BROKEN = [
    pytest.param(naive_skl2onnx, id="skl2onnx float32 pipeline"),
    pytest.param(nearest_float32_splits, id="splits rounded to nearest float32"),
]


@pytest.mark.parametrize("broken", BROKEN)
@pytest.mark.parametrize("name", ["random_forest", "decision_tree"])
def test_gate_fails_a_misconverted_graph_and_names_the_rows(
    binary_pickles: FixtureSet, broken: Callable[[PickleSet, str], bytes], name: str
) -> None:
    pickle_set = binary_pickles.load()
    onnx_bytes = broken(pickle_set, name)
    check = CheckData.from_array(binary_pickles.flows, "fixture flows")
    report = gate(pickle_set, read_model(pickle_set, name), onnx_bytes, check)
    assert report.label_mismatches > 0
    assert_refused(report)


def test_gate_fails_an_xgboost_graph_whose_splits_include_the_split_value(
    pickles: FixtureSet,
) -> None:
    pickle_set = pickles.load()
    onnx_bytes = xgboost_split_kept_inclusive(pickle_set, "xgboost")
    report = gate(pickle_set, read_model(pickle_set, "xgboost"), onnx_bytes, pickles.check_data())
    assert_refused(report)


def test_gate_fails_an_xgboost_graph_with_a_leaf_value_nudged(pickles: FixtureSet) -> None:
    pickle_set = pickles.load()
    onnx_bytes = xgboost_leaf_nudged(pickle_set, "xgboost", pickles.flows)
    report = gate(pickle_set, read_model(pickle_set, "xgboost"), onnx_bytes, pickles.check_data())
    assert report.max_probability_difference > report.tolerance
    assert_refused(report)
