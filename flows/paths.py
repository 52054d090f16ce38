"""Checks on the files a command is given, made before a capture opens or a file is written, so
that a mistyped path stops the command with one line instead of a traceback or a half-made output.

Standard library only: `score` (which has none of the packet libraries) shares `output_problem`.
Each check returns what is wrong, for the caller to raise as its own error type, or None.
"""

from __future__ import annotations

import os
from pathlib import Path

STDIO = "-"


def input_problem(path: str | Path) -> str | None:
    """Why `path` cannot be read as an input file (`-`, standard input, always can)."""
    if str(path) == STDIO:
        return None
    path = Path(path)
    if not path.exists():
        return "cannot open: no such file"
    if path.is_dir():
        return "cannot open: it is a folder, not a file"
    if not os.access(path, os.R_OK):
        return "cannot open: permission denied"
    return None


def output_problem(path: str | Path) -> str | None:
    """Why a file cannot be written at `path` (in full: "cannot write ..."); `-` always can."""
    if str(path) == STDIO:
        return None
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        return f"cannot write {str(path)!r}: it is a folder (name a file in it)"
    if not folder.exists():
        return f"cannot write {str(path)!r}: no folder {str(folder)!r}"
    if not folder.is_dir():
        return f"cannot write {str(path)!r}: {str(folder)!r} is not a folder"
    # The output is written beside itself under a temporary name, then renamed into place.
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"cannot write {str(path)!r}: the folder {str(folder)!r} is not writable"
    return None
