"""Changing a model repository the way a deployment does: a new version folder appears whole
(copied beside it under a dot name, then renamed into place), an old one goes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path


def versions_on_disk(repository: Path, name: str) -> list[int]:
    return sorted(
        int(entry.name) for entry in (repository / name).iterdir() if entry.name.isdigit()
    )


def flip_byte(path: Path) -> None:
    """Flip every bit of the byte in the middle of the file."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def add_version(repository: Path, name: str, *, corrupt: bool = False) -> str:
    """A copy of the latest version as the next one; `corrupt` flips a byte of its graph (its
    sha256 no longer matches the manifest's)."""
    latest = versions_on_disk(repository, name)[-1]
    version = latest + 1
    staging = repository / name / f".staging-{version}"
    shutil.copytree(repository / name / str(latest), staging)
    manifest_file = staging / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    manifest["version"] = version
    manifest_file.write_text(json.dumps(manifest, indent=2))
    if corrupt:
        flip_byte(staging / manifest["onnx"]["file"])
    staging.rename(repository / name / str(version))
    return str(version)


def drop_oldest(repository: Path, name: str, keep: int) -> None:
    for version in versions_on_disk(repository, name)[:-keep]:
        shutil.rmtree(repository / name / str(version))
