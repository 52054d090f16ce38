"""Reading a whole capture into one batch, for tests."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np

from flows.capture import read_packets
from flows.packets import PacketBatch, Skipped


def concat(batches: list[PacketBatch]) -> PacketBatch:
    if not batches:
        return PacketBatch.empty()
    return PacketBatch(
        **{
            f.name: np.concatenate([getattr(b, f.name) for b in batches])
            for f in fields(PacketBatch)
        }
    )


def read_all(path: Path, chunk_bytes: int | None = None) -> tuple[PacketBatch, Skipped]:
    skipped = Skipped()
    kwargs = {} if chunk_bytes is None else {"chunk_bytes": chunk_bytes}
    return concat(list(read_packets(path, skipped, **kwargs))), skipped


def rows(batch: PacketBatch) -> list[dict[str, int]]:
    """Each packet as a dict of plain ints, to compare with expected values and print readably."""
    names = [f.name for f in fields(PacketBatch)]
    columns = [getattr(batch, name).tolist() for name in names]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def write(tmp_path: Path, data: bytes, name: str = "capture.pcap") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path
