"""Open Inference Protocol (v2) tensors: JSON `data` and the binary tensor data extension.

Binary layout (as Triton and `tritonclient` write it): the body is a JSON header of
`Inference-Header-Content-Length` bytes followed by each binary tensor's raw bytes, in the order
of the tensors in the header, each tensor naming its length in `parameters.binary_data_size`.
Numbers are little-endian and row-major; a BYTES element is a 4-byte little-endian length and
then the bytes.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from server.codecs.features import Matrix, describe, whole
from server.codecs.json_body import decode_json
from server.datatypes import V2_NUMERIC
from server.errors import InvalidInput, Location, PayloadTooLarge

HEADER_LENGTH = "inference-header-content-length"
_NUMERIC_KINDS = frozenset("iuf")


@dataclass(frozen=True, slots=True)
class RequestedOutput:
    name: str
    binary: bool


@dataclass(frozen=True, slots=True)
class InferRequest:
    id: str | None
    features: Matrix  # float64 [N, n_features]
    outputs: tuple[RequestedOutput, ...]


@dataclass(frozen=True, slots=True)
class OutputTensor:
    requested: RequestedOutput
    datatype: str
    value: np.ndarray[Any, Any]


def decode_infer_request(
    body: bytes,
    header_length: int | None,
    input_name: str,
    n_features: int,
    output_names: Sequence[str],
    max_rows: int,
) -> InferRequest:
    """Decode an inference request for a model with one `[N, n_features]` input."""
    if header_length is None:
        head, tail = body, memoryview(b"")
    elif 0 <= header_length <= len(body):
        head, tail = body[:header_length], memoryview(body)[header_length:]
    else:
        raise InvalidInput(
            f"Inference-Header-Content-Length is {header_length}, the body has {len(body)} bytes"
        )
    document = _object(decode_json(head), ())
    request_id = document.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise InvalidInput("must be a string", ("id",))
    parameters = _object(document.get("parameters", {}), ("parameters",))
    binary_default = _flag(parameters, "binary_data_output", ("parameters",))
    inputs = document.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise InvalidInput("must be a non-empty list of input tensors", ("inputs",))
    features = None
    offset = 0
    for index, tensor in enumerate(inputs):
        loc: Location = ("inputs", index)
        tensor = _object(tensor, loc)
        if tensor.get("name") != input_name:
            raise InvalidInput(
                f"unexpected input {describe(tensor.get('name'))}; the model's only input is "
                f"{input_name!r}",
                (*loc, "name"),
            )
        if features is not None:
            raise InvalidInput(f"input {input_name!r} is given twice", loc)
        features, offset = _decode_features(tensor, loc, tail, offset, n_features, max_rows)
    if offset != len(tail):
        raise InvalidInput(f"{len(tail) - offset} bytes of binary data belong to no input")
    assert features is not None  # inputs is non-empty and every item set it or raised
    outputs = _requested_outputs(document.get("outputs"), output_names, binary_default)
    return InferRequest(request_id, features, outputs)


def _object(value: Any, loc: Location) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(f"expected a JSON object, got {describe(value)}", loc, "type_error")
    return value


def _flag(parameters: dict[str, Any], name: str, loc: Location) -> bool:
    value = parameters.get(name, False)
    if not isinstance(value, bool):
        raise InvalidInput("must be true or false", (*loc, name), "type_error")
    return value


def _decode_features(
    tensor: dict[str, Any],
    loc: Location,
    tail: memoryview,
    offset: int,
    n_features: int,
    max_rows: int,
) -> tuple[Matrix, int]:
    datatype = tensor.get("datatype")
    dtype = V2_NUMERIC.get(datatype) if isinstance(datatype, str) else None
    if dtype is None or not isinstance(datatype, str):
        raise InvalidInput(
            f"datatype {describe(datatype)} is not a numeric datatype (use FP64 or FP32)",
            (*loc, "datatype"),
        )
    shape = tensor.get("shape")
    if isinstance(shape, list):
        shape = [whole(dim) for dim in shape]
    if (
        not isinstance(shape, list)
        or len(shape) != 2
        or None in shape
        or shape[0] < 1
        or shape[1] != n_features
    ):
        raise InvalidInput(f"must be [N, {n_features}] with N >= 1", (*loc, "shape"))
    rows = shape[0]
    if rows > max_rows:
        raise PayloadTooLarge(f"Maximum {max_rows} rows per request, got {rows}")
    parameters = _object(tensor.get("parameters", {}), (*loc, "parameters"))
    size = parameters.get("binary_data_size")
    if size is None:
        values = _json_values(tensor.get("data"), (*loc, "data"), rows * n_features)
    else:
        expected = rows * n_features * dtype.itemsize
        if size != expected or isinstance(size, bool):
            raise InvalidInput(
                f"is {describe(size) if not isinstance(size, int) else size}; {datatype} "
                f"{shape} takes {expected} bytes",
                (*loc, "parameters", "binary_data_size"),
            )
        if offset + size > len(tail):
            raise InvalidInput(
                f"needs {size} bytes of binary data, {len(tail) - offset} are left",
                (*loc, "parameters", "binary_data_size"),
            )
        values = np.frombuffer(tail[offset : offset + size], dtype=dtype.newbyteorder("<"))
        offset += size
    return _as_float64(values, dtype, datatype, loc).reshape(rows, n_features), offset


def _json_values(data: Any, loc: Location, count: int) -> np.ndarray[Any, Any]:
    if not isinstance(data, list):
        raise InvalidInput("must be a list of numbers (or use binary_data_size)", loc)
    try:
        values = np.array(data)
    except (ValueError, OverflowError):  # ragged nesting, or integers beyond 64 bits
        values = None
    if values is None or values.dtype.kind not in _NUMERIC_KINDS:
        values = np.array(_flatten(data, loc), dtype=np.float64)
    if values.size != count:
        raise InvalidInput(f"holds {values.size} numbers, the shape needs {count}", loc)
    return values.reshape(-1)


def _flatten(data: list[Any], loc: Location) -> list[float]:
    """The checked path, row-major and iterative (nesting depth is the client's choice): names
    the first element that is not a number."""
    flat: list[float] = []
    stack: list[tuple[list[Any], int, Location]] = [(data, 0, loc)]
    while stack:
        items, index, where = stack[-1]
        if index == len(items):
            stack.pop()
            continue
        stack[-1] = (items, index + 1, where)
        item = items[index]
        if isinstance(item, list):
            stack.append((item, 0, (*where, index)))
        elif isinstance(item, int | float) and not isinstance(item, bool):
            try:
                flat.append(float(item))
            except OverflowError:
                raise InvalidInput("number out of range", (*where, index)) from None
        else:
            raise InvalidInput(f"expected a number, got {describe(item)}", (*where, index))
    return flat


def _as_float64(
    values: np.ndarray[Any, Any], dtype: np.dtype[Any], datatype: str, loc: Location
) -> Matrix:
    # Values are first held in the declared datatype, as a typed tensor would carry them: an
    # FP32 tensor's numbers are rounded to float32, an integer tensor's must be whole numbers.
    if values.dtype != dtype:
        with np.errstate(all="ignore"):  # NaN or out-of-range values are reported below
            typed = values.astype(dtype)
            fits = dtype.kind == "f" or np.array_equal(typed, values)
        if not fits:
            raise InvalidInput(f"values do not fit datatype {datatype}", (*loc, "data"))
        values = typed
    # A binary tensor sits at whatever offset the JSON header ends: copy it when misaligned,
    # which costs far less than onnxruntime's unaligned reads of a large batch.
    return np.require(values, dtype=np.float64, requirements=["C", "A"])


def _requested_outputs(
    outputs: Any, names: Sequence[str], binary_default: bool
) -> tuple[RequestedOutput, ...]:
    if outputs is None:
        return tuple(RequestedOutput(name, binary_default) for name in names)
    if not isinstance(outputs, list):
        raise InvalidInput("must be a list of requested outputs", ("outputs",))
    requested = []
    for index, item in enumerate(outputs):
        loc: Location = ("outputs", index)
        item = _object(item, loc)
        name = item.get("name")
        if not isinstance(name, str) or name not in names:
            raise InvalidInput(
                f"unknown output {describe(name)}; the model's outputs are {list(names)}",
                (*loc, "name"),
            )
        parameters = _object(item.get("parameters", {}), (*loc, "parameters"))
        if parameters.get("classification"):
            raise InvalidInput(
                "the classification extension is not supported; read the label output",
                (*loc, "parameters", "classification"),
            )
        binary = (
            _flag(parameters, "binary_data", (*loc, "parameters"))
            if "binary_data" in parameters
            else binary_default
        )
        requested.append(RequestedOutput(name, binary))
    return tuple(requested)


def encode_infer_response(
    header: dict[str, Any], tensors: Sequence[OutputTensor]
) -> tuple[bytes, int | None]:
    """The response body, and the JSON header's length when binary outputs follow it."""
    outputs = []
    chunks = []
    for tensor in tensors:
        entry: dict[str, Any] = {
            "name": tensor.requested.name,
            "datatype": tensor.datatype,
            "shape": list(tensor.value.shape),
        }
        if tensor.requested.binary:
            raw = _raw_bytes(tensor)
            entry["parameters"] = {"binary_data_size": len(raw)}
            chunks.append(raw)
        elif tensor.datatype == "BYTES":
            entry["data"] = tensor.value.ravel().tolist()
        else:
            entry["data"] = tensor.value.ravel()
        outputs.append(entry)
    header["outputs"] = outputs
    head = orjson.dumps(header, option=orjson.OPT_SERIALIZE_NUMPY)
    if not chunks:
        return head, None
    return b"".join([head, *chunks]), len(head)


def _raw_bytes(tensor: OutputTensor) -> bytes:
    if tensor.datatype == "BYTES":
        return b"".join(map(_length_prefixed, tensor.value.ravel().tolist()))
    dtype = V2_NUMERIC[tensor.datatype].newbyteorder("<")
    return np.ascontiguousarray(tensor.value, dtype=dtype).tobytes()


@functools.lru_cache(maxsize=4096)
def _length_prefixed(text: str) -> bytes:
    # Labels repeat (they are class names), so each is encoded once.
    data = text.encode()
    return struct.pack("<I", len(data)) + data
