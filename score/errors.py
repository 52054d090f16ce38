"""What can stop a scoring run, each with a message a user can act on."""

from __future__ import annotations


class ScoreError(Exception):
    """A problem with the inputs, the output or the artifacts: the run stops and writes nothing."""


class BadRowError(ScoreError):
    """A row that cannot be scored, under `--on-bad-row error`; names the file and the line."""
