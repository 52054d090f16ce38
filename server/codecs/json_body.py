"""Request bodies to Python values: the one place JSON is decoded."""

from __future__ import annotations

import json
from typing import Any

import orjson

from server.errors import InvalidInput


def decode_json(body: bytes) -> Any:
    """Parse a JSON body; an error names the position of the problem."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        first_error = error
    # The existing clients serialise with Python's json module, which writes the CICIDS2017 rate
    # columns' infinities and NaNs as `Infinity` and `NaN`: orjson refuses those literals, the
    # standard library reads them (and the old FastAPI service did). Only failed parses get here.
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise InvalidInput(f"malformed JSON ({first_error})", kind="json_invalid") from None
