"""The models a run scores with: `NAME` or `NAME:VERSION` from a model repository, loaded and
checked by the server's own loader (manifest, sha256, signature, a probe run)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from score.errors import ScoreError
from server.errors import ServerError
from server.model import Model
from server.repository import open_model


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
    try:
        return [open_model(artifacts, spec.name, spec.version, threads) for spec in specs]
    except ServerError as error:
        raise ScoreError(error.message) from None
