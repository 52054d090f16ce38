"""What a converted repository holds: graphs that stand alone, and manifests that say it all."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from convert import graph_model
from convert import manifest as written
from models.pickle_set import MODEL_FILES, SCALER_FILE
from server import manifest as served
from tests.convert.conftest import BINARY, Repository

NAMES = [pytest.param(name, id=name) for name in MODEL_FILES]


def _manifest(repository: Repository, name: str) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(
        (repository.out / name / "1" / "manifest.json").read_text()
    )
    return manifest


@pytest.mark.parametrize("name", NAMES)
def test_model_runs_in_plain_onnxruntime_on_raw_features(repository: Repository, name: str) -> None:
    session = ort.InferenceSession(
        str(repository.out / name / "1" / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    assert [(i.name, i.type, i.shape[1]) for i in session.get_inputs()] == [
        ("features", "tensor(double)", 78)
    ]
    assert [(o.name, o.type) for o in session.get_outputs()] == [
        ("label", "tensor(string)"),
        ("probabilities", "tensor(float)"),
    ]
    flows = repository.pickles.flows[:50]
    assert not np.isfinite(flows).all()  # raw values, inf and NaN included
    labels, probabilities = session.run(None, {"features": flows})
    assert labels.shape == (50,)
    assert set(labels.tolist()) <= set(BINARY)
    assert probabilities.shape == (50, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_graph_is_self_describing_and_uses_standard_operators_only(
    repository: Repository, name: str
) -> None:
    model = onnx.load(str(repository.out / name / "1" / "model.onnx"))
    onnx.checker.check_model(model, full_check=True)
    assert {o.domain: o.version for o in model.opset_import} == {"": 21, "ai.onnx.ml": 5}
    ops = {node.op_type for node in model.graph.node}
    assert not ops & {"ZipMap", "SequenceConstruct", "TreeEnsembleClassifier"}
    assert {node.domain for node in model.graph.node} <= {"", "ai.onnx.ml"}
    props = {p.key: p.value for p in model.metadata_props}
    assert json.loads(props["class_labels"]) == list(BINARY)
    assert len(json.loads(props["feature_names"])) == 78
    assert props["model_kind"] == name
    sources = json.loads(props["source_sha256"])
    folder = repository.pickles.folder
    assert (
        sources[MODEL_FILES[name]]
        == hashlib.sha256((folder / MODEL_FILES[name]).read_bytes()).hexdigest()
    )
    assert set(json.loads(props["libraries"])) >= {"scikit-learn", "xgboost", "onnx"}
    assert json.loads(props["converter_options"])


@pytest.mark.parametrize("name", NAMES)
def test_manifest_contents(repository: Repository, name: str) -> None:
    manifest = _manifest(repository, name)
    folder: Path = repository.pickles.folder
    onnx_bytes = (repository.out / name / "1" / "model.onnx").read_bytes()
    assert manifest["schema"] == 1
    assert (manifest["name"], manifest["version"]) == (name, 1)
    assert manifest["created"].endswith("+00:00")
    assert manifest["model"]["kind"] == name
    assert manifest["model"]["task"] == "binary"
    assert manifest["model"]["type"] in {
        "RandomForestClassifier",
        "XGBClassifier",
        "DecisionTreeClassifier",
    }
    assert manifest["model"]["hyperparameters"]["max_depth"] in {10, 20, None}
    assert manifest["inputs"] == [{"name": "features", "datatype": "FP64", "shape": [-1, 78]}]
    assert manifest["outputs"] == [
        {"name": "label", "datatype": "BYTES", "shape": [-1]},
        {"name": "probabilities", "datatype": "FP32", "shape": [-1, 2]},
    ]
    assert len(manifest["feature_names"]) == 78
    assert manifest["class_labels"] == list(BINARY)
    assert manifest["onnx"] == {
        "file": "model.onnx",
        "sha256": hashlib.sha256(onnx_bytes).hexdigest(),
        "bytes": len(onnx_bytes),
        "opsets": {"": 21, "ai.onnx.ml": 5},
    }
    assert set(manifest["sources"]) == {
        MODEL_FILES[name],
        SCALER_FILE,
        "label_encoder.pkl",
        "feature_names.pkl",
    }
    for file, source in manifest["sources"].items():
        data = (folder / file).read_bytes()
        assert source == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    parity = manifest["parity"]
    assert parity["passed"] is True
    assert parity["rows"] == len(repository.pickles.flows)
    assert parity["boundary_points"] > 0
    assert parity["label_mismatches"] == 0
    assert parity["max_probability_difference"] <= parity["tolerance"] == 1e-6
    assert parity["check_data"] == ["fixture flows"]
    assert {"scikit-learn", "xgboost", "onnx", "onnxruntime", "numpy"} <= set(manifest["libraries"])
    assert manifest["converter"]["name"] == "ids-inference"
    assert manifest["converter"]["options"]["splits"]


@pytest.mark.parametrize("name", NAMES)
def test_the_server_reads_the_manifest_convert_writes(repository: Repository, name: str) -> None:
    # server/ may not import convert/: the contract's schema number and tensor names stand in
    # both rooms, and are tied here.
    assert written.SCHEMA == served.SCHEMA
    contract = (graph_model.INPUT, graph_model.LABEL, graph_model.PROBABILITIES)
    assert contract == (served.INPUT, served.LABEL, served.PROBABILITIES)
    manifest = served.read_manifest(repository.out / name / "1" / "manifest.json")
    assert (manifest.name, manifest.version, manifest.kind) == (name, 1, name)
    assert manifest.class_labels == BINARY
    assert [spec.name for spec in (*manifest.inputs, *manifest.outputs)] == list(contract)
