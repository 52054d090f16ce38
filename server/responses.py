"""Response classes: the one place responses are serialised."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from server.codecs.v2 import HEADER_LENGTH


class ORJSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        # numpy scalars and arrays go out directly (float32 in its shortest form).
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


class CSVResponse(Response):
    media_type = "text/csv"


def v2_infer_response(body: bytes, header_length: int | None) -> Response:
    """A v2 inference answer: plain JSON, or a JSON header followed by binary tensors."""
    if header_length is None:
        return Response(body, media_type="application/json")
    return Response(
        body,
        media_type="application/octet-stream",
        headers={HEADER_LENGTH: str(header_length)},
    )
