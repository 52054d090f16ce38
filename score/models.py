"""The models a run scores with: `NAME` or `NAME:VERSION` from a model repository, loaded and
checked by the server's own loader (manifest, sha256, signature, a probe run)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from score.errors import ScoreError
from server.errors import ArtifactError
from server.model import Model, session_options
from server.repository import load_version, scan_model
from server.settings import ENVIRONMENT, Settings


def default_artifacts() -> Path:
    """The server's repository: `IDS_ARTIFACTS_PATH` / `ARTIFACTS_PATH`, else `artifacts`."""
    names, _ = ENVIRONMENT["artifacts_path"]
    found = next((os.environ[name] for name in names if os.environ.get(name, "").strip()), None)
    return Path(found.strip()) if found else Settings().artifacts_path


def default_model() -> str:
    """The server's default model: `IDS_DEFAULT_MODEL`, else `random_forest`."""
    return os.environ.get("IDS_DEFAULT_MODEL", "").strip() or Settings().default_model


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A model asked for by name, at its latest version or at `version`."""

    name: str
    version: int | None = None

    @classmethod
    def parse(cls, text: str) -> ModelSpec:
        name, colon, version = text.strip().partition(":")
        if not name or (colon and not (version.isdigit() and int(version) > 0)):
            raise ScoreError(f"model {text!r}: expected NAME or NAME:VERSION (a positive integer)")
        return cls(name, int(version) if colon else None)

    @property
    def label(self) -> str:
        """How output columns name this model when several are scored: `xgboost`, `xgboost_v2`."""
        return self.name if self.version is None else f"{self.name}_v{self.version}"


def check_specs(specs: Sequence[ModelSpec]) -> None:
    labels = [spec.label for spec in specs]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise ScoreError(f"--model {', '.join(repeated)} is given more than once")


def load_models(artifacts: Path, specs: Sequence[ModelSpec], threads: int) -> list[Model]:
    """Load every asked-for model with `threads` intra-op threads; a clear error for anything
    missing, unknown or broken."""
    if not artifacts.is_dir():
        raise ScoreError(
            f"the model repository {str(artifacts)!r} is not a folder (pass --artifacts, set "
            "IDS_ARTIFACTS_PATH, or run `./dev serve` / `ids-inference convert` to create it)"
        )
    options = session_options(threads, spinning=False)
    models = []
    for spec in specs:
        if not (artifacts / spec.name).is_dir():
            known = sorted(
                entry.name
                for entry in artifacts.iterdir()
                if entry.is_dir() and not entry.name.startswith(".")
            )
            raise ScoreError(
                f"unknown model {spec.name!r}: the repository {str(artifacts)!r} holds "
                + (", ".join(repr(name) for name in known) if known else "no models")
            )
        try:
            versions = scan_model(artifacts, spec.name)
            version = versions[-1] if spec.version is None else spec.version
            if version not in versions:
                raise ScoreError(
                    f"model {spec.name!r} has no version {version}; versions: {versions}"
                )
            models.append(load_version(artifacts, spec.name, version, options))
        except ArtifactError as error:
            raise ScoreError(f"cannot load model {spec.name!r}: {error.message}") from None
    return models
