"""The one error type of the detect room: a message a user can act on, and a non-zero exit."""

from __future__ import annotations


class DetectError(Exception):
    """Something the user can fix: a missing repository, an unknown model, a server that is
    down or answers an error. The message says what and where."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
