"""The Open Inference Protocol (KServe v2, Triton) over the registry, free of Starlette."""

from __future__ import annotations

from typing import Any

from ids_inference import __version__
from server.codecs.v2 import (
    InferRequest,
    OutputTensor,
    decode_infer_request,
    encode_infer_response,
)
from server.manifest import LABEL, PROBABILITIES
from server.model import Model, Prediction
from server.repository import Registry

SERVER_NAME = "ids-inference"
EXTENSIONS = ["binary_tensor_data", "model_repository"]
PLATFORM = "onnxruntime_onnx"


def server_metadata() -> dict[str, Any]:
    return {"name": SERVER_NAME, "version": __version__, "extensions": EXTENSIONS}


def model_metadata(registry: Registry, model: Model) -> dict[str, Any]:
    return {
        "name": model.name,
        "versions": registry.versions(model.name),
        "platform": PLATFORM,
        "inputs": [spec.as_json() for spec in model.manifest.inputs],
        "outputs": [spec.as_json() for spec in model.manifest.outputs],
    }


def decode(model: Model, body: bytes, header_length: int | None, max_rows: int) -> InferRequest:
    return decode_infer_request(
        body,
        header_length,
        model.manifest.inputs[0].name,
        model.schema.count,
        [spec.name for spec in model.manifest.outputs],
        max_rows,
    )


def encode(model: Model, request: InferRequest, prediction: Prediction) -> tuple[bytes, int | None]:
    """The response body and, when binary outputs follow it, the JSON header's length."""
    values = {LABEL: prediction.labels, PROBABILITIES: prediction.probabilities}
    datatypes = {spec.name: spec.datatype for spec in model.manifest.outputs}
    header: dict[str, Any] = {"model_name": model.name, "model_version": model.version}
    if request.id is not None:
        header["id"] = request.id
    tensors = [
        OutputTensor(output, datatypes[output.name], values[output.name])
        for output in request.outputs
    ]
    return encode_infer_response(header, tensors)
