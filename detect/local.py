"""Scoring in-process: the artifact loaded by the server's own loader (manifest, sha256,
signature and a probe run checked), run by onnxruntime; no pickle, no scikit-learn."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from detect.errors import DetectError
from detect.verdicts import Features, Verdicts
from flows.columns import NameLookup
from models.features import FEATURE_NAMES
from server.errors import ArtifactError
from server.model import Model, session_options
from server.repository import load_version, scan_model


class LocalScorer:
    """The latest version of `name` in the repository `artifacts`."""

    where = "in-process"

    def __init__(self, artifacts: Path, name: str, threads: int = 1) -> None:
        self.model = load(artifacts, name, threads)
        self.name = self.model.name
        self.version = self.model.version
        self.class_labels = tuple(self.model.class_labels)
        self._columns = feature_columns(self.model.schema.names)

    def score(self, features: Features) -> Verdicts:
        if self._columns is not None:
            features = np.ascontiguousarray(features[:, self._columns])
        prediction = self.model.predict(features, large=len(features) > 64)
        return Verdicts([str(label) for label in prediction.labels], prediction.probabilities)

    def close(self) -> None:
        pass


def feature_columns(names: tuple[str, ...] | list[str]) -> list[int] | None:
    """Where each of a model's features sits in the flow meter's rows; None when the model reads
    them in that order already. Names may be in any of the three namings."""
    if tuple(names) == FEATURE_NAMES:
        return None
    lookup = NameLookup(FEATURE_NAMES)
    columns = []
    for name in names:
        found = lookup.find(name)
        if found is None:
            raise DetectError(f"the model reads a feature the flow meter does not make: {name!r}")
        columns.append(found)
    return columns


def load(artifacts: Path, name: str, threads: int) -> Model:
    """Load the latest version of `name`, with clear errors for a missing repository, an
    unknown model and a broken artifact."""
    if not artifacts.is_dir():
        raise DetectError(
            f"the model repository {str(artifacts)!r} is not a folder (pass --artifacts, or run "
            "`./dev serve` or `ids-inference convert` to create it)"
        )
    if not (artifacts / name).is_dir():
        known = sorted(
            entry.name
            for entry in artifacts.iterdir()
            if entry.is_dir() and not entry.name.startswith(".")
        )
        raise DetectError(
            f"unknown model {name!r}: the repository {str(artifacts)!r} holds "
            + (", ".join(repr(known_name) for known_name in known) if known else "no models")
        )
    try:
        version = scan_model(artifacts, name)[-1]
        return load_version(artifacts, name, version, session_options(threads, spinning=False))
    except ArtifactError as error:
        raise DetectError(f"cannot load model {name!r}: {error.message}") from None
