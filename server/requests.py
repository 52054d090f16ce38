"""Reading requests: body size limits, content types and encodings, content negotiation."""

from __future__ import annotations

import zlib

from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive

from server.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType

JSON = frozenset({"application/json"})
# zlib's wbits: gzip header, zlib header (what HTTP calls deflate)
_DECODERS = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def header(request: Request, name: bytes) -> str | None:
    """One request header (`name` in lower case). Scanning the raw list is several times cheaper
    than building Starlette's `Headers` object, and this runs a few times per prediction."""
    for key, value in request.scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def media_type(request: Request) -> str | None:
    value = header(request, b"content-type")
    return value.partition(";")[0].strip().lower() if value else None


def require_media_type(request: Request, accepted: frozenset[str]) -> str | None:
    """The request's media type, if it is one of `accepted`, `*+json` (read as JSON) or absent
    (the old FastAPI service read JSON without a content type, and some clients rely on that)."""
    found = media_type(request)
    if found is None or found in accepted:
        return found
    if found.endswith("+json") and "application/json" in accepted:
        return "application/json"
    raise UnsupportedMediaType(
        f"Content-Type {found!r} is not supported here; use {' or '.join(sorted(accepted))}"
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused with 413 as soon as it exceeds `limit` bytes (decoded)."""
    body = await receive_body(request.receive, limit, header(request, b"content-length"))
    encoding = header(request, b"content-encoding")
    if encoding is None or encoding.strip().lower() == "identity":
        return body
    return _decompress(body, encoding.strip().lower(), limit)


async def receive_body(receive: Receive, limit: int, declared: str | bytes | None) -> bytes:
    """The whole body as sent, refused with 413 as soon as it (or its declared Content-Length)
    exceeds `limit` bytes; `ClientDisconnect` if the client leaves first."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"Request body larger than {limit} bytes")
    # Read from `receive` directly: it is the hot path, and one small chunk is the usual case.
    message = await receive()
    chunks: list[bytes] = []
    size = 0
    while True:
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Request body larger than {limit} bytes")
        if not message.get("more_body", False):
            return b"".join((*chunks, chunk)) if chunks else chunk
        chunks.append(chunk)
        message = await receive()


def _decompress(body: bytes, encoding: str, limit: int) -> bytes:
    wbits = _DECODERS.get(encoding)
    if wbits is None:
        raise UnsupportedMediaType(f"Content-Encoding {encoding!r} is not supported")
    decoder = zlib.decompressobj(wbits)
    try:
        # max_length stops a small compressed body from inflating past the limit.
        data = decoder.decompress(body, limit + 1)
    except zlib.error:
        raise InvalidInput(f"the body is not valid {encoding} data") from None
    if len(data) > limit or decoder.unconsumed_tail:
        raise PayloadTooLarge(f"Request body larger than {limit} bytes once decompressed")
    if not decoder.eof:
        raise InvalidInput(f"the body is truncated {encoding} data")
    return data


def header_int(request: Request, name: str) -> int | None:
    value = header(request, name.encode())
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(f"header {name} must be an integer, got {value[:40]!r}") from None


def prefers_csv(request: Request) -> bool:
    """True when the Accept header ranks text/csv above JSON; on a tie JSON wins unless only a
    wildcard (`*/*`) matched it."""
    accept = header(request, b"accept")
    if not accept or "csv" not in accept:
        return False
    quality: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = (piece.strip().lower() for piece in part.split(";"))
        value = 1.0
        for param in params:
            key, _, text = param.partition("=")
            if key.strip() == "q":
                try:
                    value = float(text)
                except ValueError:
                    value = 0.0
        quality[media] = max(quality.get(media, -1.0), value)
    csv_q = quality.get("text/csv", -1.0)
    if "application/json" in quality:
        return csv_q > quality["application/json"]
    wildcard_q = max(quality.get("*/*", -1.0), quality.get("application/*", -1.0))
    return csv_q > 0 and csv_q >= wildcard_q
