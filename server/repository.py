"""The model repository on disk (`<model>/<version>/`, as Triton lays it out) and the registry of
loaded models the server answers from."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import onnxruntime as ort

from server.errors import ArtifactError, ModelNotFound, VersionNotFound
from server.model import Model, load_model, session_options


class Registry:
    """An immutable snapshot of the loaded models, several versions per model possible.

    Nothing mutates a registry: a reload builds a new one and swaps the reference, so a request
    that looked a model up keeps a consistent view while the swap happens.
    """

    __slots__ = ("_latest", "_models")

    def __init__(self, models: Mapping[str, Mapping[str, Model]]) -> None:
        self._models = {name: dict(versions) for name, versions in models.items() if versions}
        self._latest = {
            name: versions[max(versions, key=int)] for name, versions in self._models.items()
        }

    def __len__(self) -> int:
        return len(self._models)

    def __iter__(self) -> Iterator[Model]:
        """The latest version of every model, in name order."""
        return iter(self._latest[name] for name in sorted(self._latest))

    def every_version(self) -> Iterator[Model]:
        """Every loaded version of every model, by name then version."""
        for name in sorted(self._models):
            versions = self._models[name]
            yield from (versions[version] for version in sorted(versions, key=int))

    def names(self) -> list[str]:
        return sorted(self._models)

    def models(self) -> dict[str, dict[str, Model]]:
        """A copy of the contents (name -> version -> model), to build the next registry from."""
        return {name: dict(versions) for name, versions in self._models.items()}

    def versions(self, name: str) -> list[str]:
        return sorted(self._find(name), key=int)

    def get(self, name: str, version: str | None = None) -> Model:
        """The named model at `version`, or its latest version."""
        if version is None:
            model = self._latest.get(name)
            if model is None:
                raise self._unknown(name)
            return model
        versions = self._find(name)
        found = versions.get(version)
        if found is None:
            raise VersionNotFound(
                f"Model {name!r} has no version {version!r}. Versions: {self.versions(name)}"
            )
        return found

    def _find(self, name: str) -> dict[str, Model]:
        versions = self._models.get(name)
        if versions is None:
            raise self._unknown(name)
        return versions

    def _unknown(self, name: str) -> ModelNotFound:
        return ModelNotFound(f"Model {name!r} not available. Choose from: {self.names()}")


def scan_repository(root: Path) -> dict[str, list[int]]:
    """Model name -> its version numbers, ascending. Like Triton, folders whose name is not a
    positive integer are not versions; hidden entries and files are ignored."""
    if not root.is_dir():
        raise ArtifactError(
            f"the model repository {str(root)!r} is not a folder (set ARTIFACTS_PATH, or run "
            "`ids-inference convert` to create it)"
        )
    found: dict[str, list[int]] = {}
    for model_dir in sorted(root.iterdir()):
        if model_dir.name.startswith(".") or not model_dir.is_dir():
            continue
        found[model_dir.name] = scan_model(root, model_dir.name)
    if not found:
        raise ArtifactError(
            f"the model repository {str(root)!r} holds no models (expected "
            "<model>/<version>/manifest.json; run `ids-inference convert` to create them)"
        )
    return found


def scan_model(root: Path, name: str) -> list[int]:
    """The version numbers of one model folder, ascending; an error when there are none."""
    model_dir = root / name
    try:
        versions = sorted(int(entry.name) for entry in model_dir.iterdir() if _is_version(entry))
    except FileNotFoundError:
        raise ArtifactError(f"{model_dir}: no such model folder in the repository") from None
    except NotADirectoryError:
        raise ArtifactError(f"{model_dir}: not a folder") from None
    if not versions:
        raise ArtifactError(f"{model_dir}: no version folders (expected {model_dir}/1/)")
    return versions


def _is_version(entry: Path) -> bool:
    name = entry.name
    return entry.is_dir() and name.isascii() and name.isdigit() and str(int(name)) == name != "0"


def load_version(
    root: Path,
    name: str,
    version: int,
    options: ort.SessionOptions,
    batch_options: ort.SessionOptions | None = None,
) -> Model:
    """Load one version folder, checking it is the model and version its path says."""
    folder = root / name / str(version)
    model = load_model(folder, options, batch_options)
    if model.name != name or model.manifest.version != version:
        raise ArtifactError(
            f"{folder}: the manifest names {model.name!r} version {model.manifest.version}, "
            "not the folder's model and version"
        )
    return model


def load_repository(
    root: Path, options: ort.SessionOptions, batch_options: ort.SessionOptions | None = None
) -> Registry:
    """Load every version of every model in the repository; any failure stops the load."""
    return Registry(
        {
            name: {
                str(version): load_version(root, name, version, options, batch_options)
                for version in versions
            }
            for name, versions in scan_repository(root).items()
        }
    )


def open_model(root: Path, name: str, version: int | None = None, threads: int = 1) -> Model:
    """One model for a command that runs it outside the server (`detect`, `score`): `name` at
    its latest version or at `version`, with `threads` intra-op threads, checked as the server
    checks it. The errors name what to do: `ArtifactError` for a missing repository or a broken
    artifact, `ModelNotFound` listing the repository's models, `VersionNotFound` its versions."""
    if not root.is_dir():
        raise ArtifactError(
            f"the model repository {str(root)!r} is not a folder (pass --artifacts, set "
            "IDS_ARTIFACTS_PATH, or run `./dev serve` / `ids-inference convert` to create it)"
        )
    if not (root / name).is_dir():
        known = sorted(
            entry.name
            for entry in root.iterdir()
            if entry.is_dir() and not entry.name.startswith(".")
        )
        raise ModelNotFound(
            f"unknown model {name!r}: the repository {str(root)!r} holds "
            + (", ".join(repr(known_name) for known_name in known) if known else "no models")
        )
    try:
        versions = scan_model(root, name)
        if version is not None and version not in versions:
            raise VersionNotFound(f"model {name!r} has no version {version}; versions: {versions}")
        chosen = versions[-1] if version is None else version
        return load_version(root, name, chosen, session_options(threads, spinning=False))
    except ArtifactError as error:
        raise ArtifactError(f"cannot load model {name!r}: {error.message}") from None
