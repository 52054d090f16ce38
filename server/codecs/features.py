"""Feature values from JSON: a list in model order, or an object keyed by feature name."""

from __future__ import annotations

import array
from typing import Any

import numpy as np

from flows.columns import NameLookup
from server.errors import InvalidInput, Location

Matrix = np.ndarray[Any, np.dtype[np.float64]]


class FeatureSchema(NameLookup):
    """A model's feature names in order (its manifest's). A name the flow column table knows is
    also found by its CICFlowMeter and CSE-CIC-IDS2018 spellings; every name compares ignoring
    whitespace (flow extractors write ` Flow Duration`) and case. Exact spellings are one dict
    lookup, as the names alone were."""

    __slots__ = ()

    index = NameLookup.find  # one call per name, not two (named objects are decoded per name)


def describe(value: Any) -> str:
    """A short, safe description of a client's value for an error message."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def whole(value: Any) -> int | None:
    """An integer, written `2` or `2.0`: JSON does not tell them apart, nor does the OpenAPI
    document's JSON Schema (so a generated client may write either); None for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def number(value: Any, loc: Location) -> float:
    """One feature value. Like the pydantic model of the existing service: JSON numbers,
    booleans and numeric strings (`"1.5"`, `"Infinity"`) are accepted; null and text are not."""
    if isinstance(value, int | float):  # bool is an int
        try:
            return float(value)
        except OverflowError:
            raise InvalidInput("number out of range", loc, "float_parsing") from None
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise InvalidInput(f"expected a number, got {describe(value)}", loc, "float_parsing")


def row(value: Any, schema: FeatureSchema, loc: Location) -> Matrix:
    """One row of features, shape `[count]`, from a list or a name -> value object."""
    if isinstance(value, list):
        return _from_list(value, schema.count, loc)
    if isinstance(value, dict):
        return _from_mapping(value, schema, loc)
    raise InvalidInput(
        f"expected a list of {schema.count} numbers or an object of feature name -> number, "
        f"got {describe(value)}",
        loc,
        "type_error",
    )


def _from_list(values: list[Any], count: int, loc: Location) -> Matrix:
    if len(values) != count:
        raise InvalidInput(f"expected {count} features, got {len(values)}", loc)
    # Fast path: an array of C doubles takes JSON numbers and booleans, in C, and refuses
    # anything else (null, strings, lists, objects), which then takes the checked path: numeric
    # strings are accepted there, the rest gets its error message. A third cheaper than numpy
    # discovering a dtype (numpy would also read null as NaN).
    try:
        return np.frombuffer(array.array("d", values), dtype=np.float64)
    except (TypeError, OverflowError):
        pass
    return np.array([number(value, (*loc, index)) for index, value in enumerate(values)])


def _from_mapping(values: dict[str, Any], schema: FeatureSchema, loc: Location) -> Matrix:
    result = np.empty(schema.count, dtype=np.float64)
    seen = [False] * schema.count
    unknown = []
    for name, value in values.items():
        index = schema.index(name)
        if index is None:
            unknown.append(name)
            continue
        if seen[index]:
            twice = [other for other in values if schema.index(other) == index]
            raise InvalidInput(
                f"feature {schema.names[index]!r} is given twice: {name_list(twice)}",
                (*loc, name),
            )
        seen[index] = True
        result[index] = number(value, (*loc, name))
    if unknown:
        raise InvalidInput(f"unknown feature names: {name_list(unknown)}", loc)
    if not all(seen):
        # CICFlowMeter's and CSE-CIC-IDS2018's names have no second Fwd Header Length: it is the
        # first one's value, as in the training data.
        for target, source in schema.restore:
            if not seen[target] and seen[source]:
                result[target] = result[source]
                seen[target] = True
    if not all(seen):
        missing = [name for name, given in zip(schema.names, seen, strict=True) if not given]
        raise InvalidInput(f"missing features: {name_list(missing)}{NAMINGS_HINT}", loc, "missing")
    return result


# Said with missing features: a client may be using another tool's names for the others.
NAMINGS_HINT = " (named as CICIDS2017, CICFlowMeter or CSE-CIC-IDS2018 name them)"


def name_list(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(repr(name[:60]) for name in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
