"""The schemas of the OpenAPI document that depend on what is served: feature names and count, input
and output names from the models' manifests, model names and versions from the registry, row
limits from the settings. Each constraint is one the decoders enforce (`server/legacy.py`,
`server/codecs/`), so a schema-valid request is one the server accepts, up to what JSON Schema
cannot say (noted in the descriptions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from flows.columns import NAMINGS, NameLookup, canonical, name_in
from server.datatypes import V2_NUMERIC
from server.model import Model
from server.repository import Registry

_STRING = {"type": "string"}
_DIGITS = r"[0-9](?:_?[0-9])*"
# The whitespace float() strips (str.isspace() but the four separators \x1c-\x1f), spelled out:
# `\s` differs between Python's and ECMA's regular expressions.
_SPACE = r"[\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*"
# What Python's float() reads, which the decoder calls on a string feature value: decimal or
# exponent notation with optional underscores between digits, inf, infinity or nan in any case,
# surrounded by whitespace. (float() also reads other scripts' decimal digits; only ASCII ones
# are stated.)
NUMERIC_TEXT = (
    rf"^{_SPACE}[+-]?(?:(?:(?:{_DIGITS})?\.{_DIGITS}|{_DIGITS}\.?)(?:[eE][+-]?{_DIGITS})?"
    rf"|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?|[nN][aA][nN]){_SPACE}$"
)
# A float64: larger JSON integers cannot be converted and are refused.
_FLOAT64 = {"type": "number", "minimum": -1.7976931348623157e308, "maximum": 1.7976931348623157e308}
FEATURE_VALUE = {
    "description": "A number. As the old service's model accepted: a numeric string (as "
    "Python's float() reads it, `NaN` and `Infinity` included, the way flow extractors write "
    "them) or a boolean (1 or 0). The bare JSON literals NaN and Infinity are read too.",
    "anyOf": [_FLOAT64, {"type": "string", "pattern": NUMERIC_TEXT}, {"type": "boolean"}],
}
# Python's falsy JSON values: `classification` set to any of them is not a request for it.
_FALSY: list[Any] = [False, None, 0, "", [], {}]


@dataclass(frozen=True, slots=True)
class Contract:
    """What one model version's artifact states about its input and outputs."""

    feature_names: tuple[str, ...]
    input_name: str
    output_names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Group:
    """Models accepting the same requests: every name with every version in `versions`."""

    contract: Contract
    names: tuple[str, ...]
    versions: tuple[str, ...]
    latest: bool  # the versions include each name's latest, so model_version may be absent


def groups(registry: Registry) -> list[Group]:
    """The served models grouped by the requests they accept. One group when every model has
    the same feature list and versions (the usual repository); a model whose versions differ
    in their features is split per version."""
    entries: dict[tuple[Contract, tuple[str, ...], bool], list[str]] = {}
    for latest in registry:
        contracts = {
            version: _contract(registry.get(latest.name, version))
            for version in registry.versions(latest.name)
        }
        if len(set(contracts.values())) == 1:
            key = (contracts[latest.version], tuple(contracts), True)
            entries.setdefault(key, []).append(latest.name)
            continue
        for version, contract in contracts.items():
            key = (contract, (version,), version == latest.version)
            entries.setdefault(key, []).append(latest.name)
    return [
        Group(contract, tuple(names), versions, latest)
        for (contract, versions, latest), names in entries.items()
    ]


def _contract(model: Model) -> Contract:
    manifest = model.manifest
    return Contract(
        model.schema.names,
        manifest.inputs[0].name,
        tuple(spec.name for spec in manifest.outputs),
    )


def ref(name: str) -> dict[str, str]:
    """A reference to a schema of the document's components."""
    return {"$ref": f"#/components/schemas/{name}"}


def _named(names: tuple[str, ...], naming: str, restored: set[int]) -> dict[str, Any] | None:
    """The object of `names` in one naming; None when the naming cannot name them all."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for index, name in enumerate(names):
        spelling = name_in(name, naming) if canonical(name) is not None else name
        if spelling is None and index not in restored:
            return None
        if spelling is not None:
            properties[spelling] = ref("FeatureValue")
            if index not in restored:
                required.append(spelling)
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _features(names: tuple[str, ...]) -> dict[str, Any]:
    restored = {target for target, _ in NameLookup(names).restore}
    # One object per naming (the same object once, for names the column table does not know).
    objects: list[dict[str, Any]] = []
    for naming in NAMINGS:
        named = _named(names, naming, restored)
        if named is not None and named not in objects:
            objects.append(named)
    return {
        "description": f"The {len(names)} features: a list in the model's feature order, or an "
        "object of feature name -> value with each feature once, named as CICIDS2017 (the "
        "model's names), CICFlowMeter or CSE-CIC-IDS2018 name them (`Destination Port`, `Dst "
        "Port`): one object per naming; other names are refused. A `Fwd Header Length.1` left "
        "out is the `Fwd Header Length` given (only CICIDS2017 writes it twice). Beyond what "
        "JSON Schema states here, names are matched ignoring whitespace and case (` Flow "
        "Duration`, as flow extractors write it), and one object may mix the namings.",
        "oneOf": [
            {
                "type": "array",
                "items": ref("FeatureValue"),
                "minItems": len(names),
                "maxItems": len(names),
            },
            *objects,
        ],
    }


def _versions(versions: tuple[str, ...], latest: bool) -> dict[str, Any]:
    values: list[Any] = [*versions, *(int(version) for version in versions)]
    return {
        "description": "a version of the model (see /models), as a string or an integer"
        + ("; its latest when absent or null" if latest else ""),
        "enum": [*values, None] if latest else values,
    }


def _predict_request(group: Group, default_model: str) -> dict[str, Any]:
    name: dict[str, Any] = {"type": "string", "enum": list(group.names)}
    required = ["features"]
    if default_model in group.names and group.latest:
        name["default"] = default_model
    else:
        required.append("model_name")
    if not group.latest:
        required.append("model_version")
    return {
        "type": "object",
        "required": required,
        "properties": {
            "features": _features(group.contract.feature_names),
            "model_name": name,
            "model_version": _versions(group.versions, group.latest),
        },
    }


def _data(count: int, max_rows: int, number: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": f"N x {count} numbers, N being shape[0]: flat in row-major order, or one "
        "list per row (any nesting is flattened)",
        "anyOf": [
            {"type": "array", "items": number, "minItems": count, "maxItems": count * max_rows},
            {
                "type": "array",
                "items": {"type": "array", "items": number, "minItems": count, "maxItems": count},
                "minItems": 1,
                "maxItems": max_rows,
            },
        ],
    }


def _integer_ranges(count: int, max_rows: int) -> list[dict[str, Any]]:
    """An integer datatype's values must be whole numbers that fit it."""
    rules = []
    for datatype, dtype in V2_NUMERIC.items():
        if dtype.kind in "iu":
            info = np.iinfo(dtype.type)  # type: ignore[type-var]  # an integer dtype here
            number = {"type": "integer", "minimum": int(info.min), "maximum": int(info.max)}
            rules.append(
                {
                    "if": {
                        "required": ["datatype"],
                        "properties": {"datatype": {"const": datatype}},
                    },
                    "then": {"properties": {"data": _data(count, max_rows, number)}},
                }
            )
    return rules


def _input_tensor(contract: Contract, max_rows: int) -> dict[str, Any]:
    count = len(contract.feature_names)
    return {
        "type": "object",
        "required": ["name", "datatype", "shape", "data"],
        "properties": {
            "name": {"const": contract.input_name},
            "datatype": {"type": "string", "enum": list(V2_NUMERIC)},
            "shape": {
                "description": f"[N, {count}], N rows (at most IDS_MAX_BATCH_ROWS, {max_rows})",
                "type": "array",
                "prefixItems": [
                    {"type": "integer", "minimum": 1, "maximum": max_rows},
                    {"const": count},
                ],
                "minItems": 2,
                "maxItems": 2,
            },
            "parameters": {
                "description": "`binary_data_size` belongs to the binary form of the request",
                "type": "object",
                "properties": {"binary_data_size": {"type": "null"}},
            },
            "data": _data(count, max_rows, _FLOAT64),
        },
        "allOf": _integer_ranges(count, max_rows),
    }


def _infer_request(contract: Contract, max_rows: int) -> dict[str, Any]:
    flag = {"type": "boolean"}
    return {
        "type": "object",
        "required": ["inputs"],
        "properties": {
            "id": {"type": ["string", "null"]},
            "parameters": {"type": "object", "properties": {"binary_data_output": flag}},
            "inputs": {
                "description": f"the model's one input, {contract.input_name!r}",
                "type": "array",
                "items": _input_tensor(contract, max_rows),
                "minItems": 1,
                "maxItems": 1,
            },
            "outputs": {
                "description": "the outputs to answer with; all of them when absent or null",
                "type": ["array", "null"],
                "items": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "enum": list(contract.output_names)},
                        "parameters": {
                            "type": "object",
                            "properties": {
                                "binary_data": flag,
                                "classification": {
                                    "description": "the classification extension is not "
                                    "supported: read the label output",
                                    "enum": _FALSY,
                                },
                            },
                        },
                    },
                },
            },
        },
    }


def _one_or_any(schemas: list[dict[str, Any]], combine: str) -> dict[str, Any]:
    return schemas[0] if len(schemas) == 1 else {combine: schemas}


def _enum(values: list[str]) -> dict[str, Any]:
    # No model loaded: nothing to list (an empty enum is not valid JSON Schema).
    return {"type": "string", "enum": values} if values else _STRING


def _prediction(labels: list[str], versions: list[str], least_classes: int) -> dict[str, Any]:
    # null when the graph answers NaN: the server passes a model's output on as it is (a
    # linear test model does on values near the float64 limit; trees on finite inputs do not).
    probability = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
    return {
        "type": "object",
        "required": [
            "prediction",
            "confidence",
            "probabilities",
            "model_used",
            "model_version",
            "inference_time_ms",
            "timestamp",
        ],
        "properties": {
            "prediction": _enum(labels),
            "confidence": probability,
            "probabilities": {
                "description": "every class of the model -> its probability",
                "type": "object",
                "propertyNames": _enum(labels),
                "additionalProperties": probability,
                "minProperties": least_classes,
            },
            "model_used": ref("ModelName"),
            "model_version": _enum(versions),
            "inference_time_ms": {"type": "number", "minimum": 0},
            "timestamp": {
                "description": "local time, ISO 8601 without a zone (the old service's)",
                "type": "string",
                "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{6})?$",
            },
        },
    }


def served_schemas(registry: Registry, default_model: str, max_rows: int) -> dict[str, Any]:
    """The request and answer schemas for the models in `registry`."""
    found = groups(registry)
    models = list(registry.every_version())
    labels = sorted({label for model in models for label in model.class_labels})
    versions = sorted({model.version for model in models}, key=int)
    if found:
        # Groups differ in model_name (or model_version): at most one matches a request.
        predict = _one_or_any([_predict_request(group, default_model) for group in found], "oneOf")
        # The path names the model, whose contract the body must follow.
        contracts = list(dict.fromkeys(group.contract for group in found))
        infer = _one_or_any([_infer_request(contract, max_rows) for contract in contracts], "anyOf")
    else:
        predict = infer = {
            "description": "No model is loaded: every request is refused until one is.",
            "type": "object",
        }
    return {
        "FeatureValue": FEATURE_VALUE,
        "PredictRequest": predict,
        "BatchRequest": {
            "description": f"1 to IDS_MAX_BATCH_ROWS ({max_rows}) requests, each for any model",
            "type": "array",
            "items": ref("PredictRequest"),
            "minItems": 1,
            "maxItems": max_rows,
        },
        "InferRequest": infer,
        "ModelName": _enum(registry.names()),
        "ModelVersion": _enum(versions),
        "Prediction": _prediction(
            labels, versions, min((len(model.class_labels) for model in models), default=0)
        ),
    }
