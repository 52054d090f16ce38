"""config.pbtxt parses against Triton Inference Server's own model-config schema."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
import tritonclient
from google.protobuf import text_format

from convert.pickle_set import MODEL_FILES
from tests.convert.conftest import Repository


def _model_config_schema() -> ModuleType:
    # tritonclient ships the schema under its grpc package, whose __init__ needs grpcio; the
    # generated module itself needs only protobuf, so it is loaded on its own.
    path = Path(tritonclient.__file__).parent / "grpc" / "model_config_pb2.py"
    spec = importlib.util.spec_from_file_location("triton_model_config_pb2", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in MODEL_FILES])
def test_config_parses_as_a_triton_model_config(repository: Repository, name: str) -> None:
    schema = _model_config_schema()
    text = (repository.out / name / "config.pbtxt").read_text()
    config = text_format.Parse(text, schema.ModelConfig())
    assert config.name == name
    assert config.platform == "onnxruntime_onnx"
    assert config.max_batch_size > 0
    [features] = config.input
    assert (features.name, features.data_type, list(features.dims)) == (
        "features",
        schema.TYPE_FP64,
        [78],
    )
    label, probabilities = config.output
    assert (label.name, label.data_type, list(label.dims)) == ("label", schema.TYPE_STRING, [1])
    # The graph's label is [N]: Triton's [N, 1] is reshaped to it.
    assert label.HasField("reshape")
    assert list(label.reshape.shape) == []
    assert (probabilities.name, probabilities.data_type, list(probabilities.dims)) == (
        "probabilities",
        schema.TYPE_FP32,
        [2],
    )
    assert config.HasField("dynamic_batching")
