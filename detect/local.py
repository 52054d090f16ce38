"""Scoring in-process: the artifact opened by the server's own loader (manifest, sha256,
signature and a probe run checked) and run through the function `ids-inference score` and its
Spark function run too (`server.model.predict_in_batches`); no pickle, no scikit-learn."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from detect.errors import DetectError
from detect.verdicts import Features, Verdicts
from flows.columns import NameLookup
from models.features import FEATURE_NAMES
from server.errors import ServerError
from server.model import predict_in_batches
from server.repository import open_model


class LocalScorer:
    """The latest version of `name` in the repository `artifacts`."""

    where = "in-process"

    def __init__(self, artifacts: Path, name: str, threads: int = 1) -> None:
        try:
            self.model = open_model(artifacts, name, threads=threads)
        except ServerError as error:
            raise DetectError(error.message) from None
        self.name = self.model.name
        self.version = self.model.version
        self.class_labels = tuple(self.model.class_labels)
        self._columns = feature_columns(self.model.schema.names)

    def score(self, features: Features) -> Verdicts:
        if self._columns is not None:
            features = np.ascontiguousarray(features[:, self._columns])
        # One run per batch of flows (thousands at most from a file: a few MB of features);
        # a batch graph is run in cache-sized slices by the model itself.
        labels, probabilities = predict_in_batches(self.model, features)
        return Verdicts([str(label) for label in labels], probabilities)

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
