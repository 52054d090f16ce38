"""The conversion's error types: each carries one line a user can act on."""

from __future__ import annotations


class ConvertError(Exception):
    """A problem with the input that the user can fix; `str(error)` is one line."""


class UnsupportedModelError(ConvertError):
    """A model the converter cannot turn into an exact graph."""


class CheckDataError(ConvertError):
    """Check data that cannot be read or does not fit the models."""
