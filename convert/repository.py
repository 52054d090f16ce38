"""The model repository: `<out>/<name>/config.pbtxt` and `<out>/<name>/<version>/{model.onnx,
manifest.json}`, written so that a reader sees a whole version or none of it."""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from convert.errors import ConvertError

MODEL_FILE = "model.onnx"
BATCH_FILE = "model.batch.onnx"
MANIFEST_FILE = "manifest.json"
CONFIG_FILE = "config.pbtxt"


def versions(out: Path, name: str) -> list[int]:
    """The versions a model already has: its all-digit subfolders, as Triton counts them."""
    folder = out / name
    if not folder.is_dir():
        return []
    return sorted(int(p.name) for p in folder.iterdir() if p.is_dir() and p.name.isdigit())


def next_version(out: Path, names: Iterable[str]) -> int:
    """One version number free for every model, so a run's models share it."""
    return 1 + max((v for name in names for v in versions(out, name)), default=0)


def check_free(out: Path, names: Iterable[str], version: int) -> None:
    taken = [
        str(out / name / str(version)) for name in names if (out / name / str(version)).exists()
    ]
    if taken:
        raise ConvertError(
            f"{', '.join(taken)} already exist{'s' if len(taken) == 1 else ''}: "
            "choose another --version or remove them"
        )


def _write(path: Path, data: bytes) -> None:
    with path.open("xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _temporary(folder: Path, name: str) -> Path:
    # A dot name, never all digits: neither Triton nor the server takes it for a version.
    return folder / f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"


def write_version(
    out: Path,
    name: str,
    version: int,
    onnx_bytes: bytes,
    manifest: dict[str, Any],
    config: str,
    *,
    batch_bytes: bytes | None = None,
) -> Path:
    """Write one model version atomically, then its `config.pbtxt`; returns the version folder.

    The files are written into a temporary folder beside the version folder and renamed into
    place in one step (a rename within one file system is atomic).
    """
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / str(version)
    staging = _temporary(folder, str(version))
    staging.mkdir()
    try:
        _write(staging / MODEL_FILE, onnx_bytes)
        if batch_bytes is not None:
            _write(staging / BATCH_FILE, batch_bytes)
        _write(staging / MANIFEST_FILE, (json.dumps(manifest, indent=2) + "\n").encode())
        if target.exists():
            raise ConvertError(f"{target} already exists: choose another --version or remove it")
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    config_staging = _temporary(folder, CONFIG_FILE)
    try:
        _write(config_staging, config.encode())
        os.replace(config_staging, folder / CONFIG_FILE)
    except BaseException:
        config_staging.unlink(missing_ok=True)
        raise
    return target
