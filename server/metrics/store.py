"""Metric values in shared memory: one file per process, added up by whichever one is scraped.

A process owns one file of float64 slots, mapped into its memory: recording a value is a store
into that mapping (about 50 ns, no lock: only the owner's event-loop thread writes it). Which
series a slot holds is appended to a second file, `<stem>.keys`, the first time the series is
used. A scrape reads every process's pair of files: counters and histograms are summed over all of
them, so the counts of a worker that died (and was replaced) stay in the totals; gauges only over
processes still alive. A live process holds an exclusive `flock` on its values file, which the
kernel drops when the process ends, however it ends: that is how a reader tells the dead from
the living, with no pid files to go stale and no pid reuse to fool it.
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

SLOTS = 16384  # 128 KiB a process; the file is sparse, untouched slots cost nothing
PREFIX = "metrics-"
VALUES = ".values"
KEYS = ".keys"
Key = tuple[str, tuple[str, ...]]  # (metric name, label values)


class ProcessStore:
    """This process's slots: in a file under `directory`, or private memory when None."""

    def __init__(self, directory: Path | None) -> None:
        self._next = 0
        self._fd = -1
        self._keys = None
        self.path: Path | None = None
        if directory is None:
            self._map = mmap.mmap(-1, SLOTS * 8)
        else:
            stem = f"{PREFIX}{os.getpid()}-{os.urandom(4).hex()}"
            self.path = directory / (stem + VALUES)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            os.ftruncate(self._fd, SLOTS * 8)
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._map = mmap.mmap(self._fd, SLOTS * 8)
            self._keys = open(directory / (stem + KEYS), "ab")  # noqa: SIM115 (lives with self)
        self.values = memoryview(self._map).cast("d")
        self._allocated: dict[Key, tuple[int, int]] = {}  # key -> (first slot, slots)

    def allocate(self, key: Key, size: int) -> int | None:
        """The first of `size` consecutive slots for `key` (the same ones on every call), or
        None when the store is full (the series is then not recorded, rather than failing)."""
        found = self._allocated.get(key)
        if found is not None:
            return found[0]
        if self._next + size > SLOTS:
            return None
        base = self._next
        self._next += size
        self._allocated[key] = (base, size)
        if self._keys is not None:
            self._keys.write(orjson.dumps([base, size, key[0], key[1]]) + b"\n")
            self._keys.flush()
        return base

    def snapshot(self) -> list[tuple[Key, list[float]]]:
        return [
            (key, [float(value) for value in self.values[base : base + size]])
            for key, (base, size) in self._allocated.items()
        ]

    def close(self) -> None:
        """Release the mapping and the lock; the files stay, so the counts keep counting."""
        self.values.release()
        self._map.close()
        if self._keys is not None:
            self._keys.close()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


@dataclass(frozen=True, slots=True)
class ProcessValues:
    """One process's series, read from its files."""

    live: bool
    series: list[tuple[Key, list[float]]]


def read_directory(directory: Path | None, own: ProcessStore) -> Iterator[ProcessValues]:
    """Every process's series in `directory`; this process's own straight from memory."""
    yield ProcessValues(True, own.snapshot())
    if directory is None:
        return
    for keys_path in sorted(directory.glob(f"{PREFIX}*{KEYS}")):
        values_path = keys_path.with_suffix(VALUES)
        if values_path == own.path:
            continue
        with contextlib.suppress(FileNotFoundError):  # removed by a concurrent clean-up
            yield _read_files(keys_path, values_path)


def _read_files(keys_path: Path, values_path: Path) -> ProcessValues:
    entries: list[Any] = []
    for line in keys_path.read_bytes().split(b"\n"):
        with contextlib.suppress(orjson.JSONDecodeError):  # a line still being written
            entries.append(orjson.loads(line))
    fd = os.open(values_path, os.O_RDONLY)
    try:
        live = _locked(fd)
        end = max((base + size for base, size, _, _ in entries), default=0)
        values = array("d")
        values.frombytes(os.pread(fd, end * 8, 0))
    finally:
        os.close(fd)
    series = [
        ((name, tuple(labels)), values[base : base + size].tolist())
        for base, size, name, labels in entries
    ]
    return ProcessValues(live, series)


def _locked(fd: int) -> bool:
    """True while the owner lives: its exclusive lock keeps ours from being granted."""
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(fd, fcntl.LOCK_UN)
    return False


def remove_files(directory: Path) -> None:
    """Delete every metrics file in `directory` (a previous run's, before this one starts)."""
    for path in directory.glob(f"{PREFIX}*"):
        path.unlink(missing_ok=True)
