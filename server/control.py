"""Explicit load and unload calls, shared by the worker processes through one small file.

A load or unload call reaches one worker. That worker notes it in `repository-control.json` in the
state folder (per model: how many loads were asked for, and whether it is unloaded), then acts;
every other worker checks the file's identity (one `stat`) twice a second and repeats, for each
model whose entry changed, what was asked. Workers that start later (a replacement for one that
died) read the file at start-up, so a model unloaded through the API stays unloaded.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

FILE = "repository-control.json"
LOCK = "repository-control.lock"
Entry = dict[str, Any]  # {"loads": int, "unloaded": bool}


class ControlFile:
    def __init__(self, directory: Path) -> None:
        self.path = directory / FILE
        self._lock_path = directory / LOCK
        self._seen: tuple[int, int, int] | None = None

    def note(self, name: str, unloaded: bool) -> Entry:
        """Record a load (`unloaded` False) or an unload of `name`; its new entry."""
        with self._locked():
            entries = self.read()
            entry = entries.get(name, {"loads": 0, "unloaded": False})
            entry = {"loads": entry["loads"] + (not unloaded), "unloaded": unloaded}
            entries[name] = entry
            temporary = self.path.with_name(f".{FILE}.{os.getpid()}")
            temporary.write_bytes(orjson.dumps(entries))
            os.replace(temporary, self.path)  # readers see the old file or the new, whole
        return entry

    def read(self) -> dict[str, Entry]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        entries: dict[str, Entry] = orjson.loads(data)
        return entries

    def changed(self) -> dict[str, Entry] | None:
        """The entries, if the file is not the one seen last time; else None (one stat)."""
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return None
        identity = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if identity == self._seen:
            return None
        self._seen = identity
        return self.read()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # two workers noting at once do not lose a call
            yield
        finally:
            os.close(fd)
