"""The server's error types: each carries its HTTP status; one handler renders them all.

The two APIs disagree on a few statuses, and both contracts are kept: the existing endpoints answer
422 for bad input and 400 for an unknown model (FastAPI's statuses, which old clients see), while
the Open Inference Protocol answers 400 for bad input and 404 for an unknown model. An error class
states both, so the code that detects a problem need not know which API it serves.
"""

from __future__ import annotations

from typing import Any, ClassVar

Location = tuple[str | int, ...]


class ServerError(Exception):
    """Base of every error the server answers on purpose; its message is safe to show."""

    status_code: ClassVar[int] = 500
    v2_status_code: ClassVar[int | None] = None  # None: the same as `status_code`

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def status_for(self, v2: bool) -> int:
        if v2 and self.v2_status_code is not None:
            return self.v2_status_code
        return self.status_code

    def body(self, v2: bool) -> dict[str, Any]:
        """The JSON body: `{"error": ...}`; the existing API also carries FastAPI's `detail`."""
        if v2:
            return {"error": self.message}
        return {"error": self.message, "detail": self.message}


class BadRequest(ServerError):
    status_code = 400


class InvalidInput(ServerError):
    """The request is well-formed HTTP but its content is not a valid input (naming where)."""

    status_code = 422
    v2_status_code = 400

    def __init__(
        self, reason: str, loc: Location = (), kind: str = "value_error", where: str = ""
    ) -> None:
        where = where or _dotted(loc)
        super().__init__(f"{where}: {reason}" if where else reason)
        self.reason = reason
        self.loc = loc
        self.kind = kind

    def body(self, v2: bool) -> dict[str, Any]:
        if v2:
            return {"error": self.message}
        # FastAPI's validation-error shape, which the existing clients may parse.
        detail = [{"loc": ["body", *self.loc], "msg": self.reason, "type": self.kind}]
        return {"error": self.message, "detail": detail}


class ModelNotFound(ServerError):
    status_code = 400
    v2_status_code = 404


class VersionNotFound(ModelNotFound):
    """A model the server has, at a version it does not (400 on the existing API, as an unknown
    model is; 404 on v2)."""


class Unauthorized(ServerError):
    status_code = 401


class NotFound(ServerError):
    status_code = 404


class MethodNotAllowed(ServerError):
    status_code = 405


class PayloadTooLarge(ServerError):
    status_code = 413


class UnsupportedMediaType(ServerError):
    status_code = 415


class ServiceUnavailable(ServerError):
    status_code = 503


class Timeout(ServerError):
    """The request ran past the request timeout (the server's deadline, not the client's: 504)."""

    status_code = 504


class ArtifactError(ServerError):
    """A model artifact cannot be served: missing file, bad manifest, sha256 or graph mismatch."""


def _dotted(loc: Location) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text
