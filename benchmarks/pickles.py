"""The existing service's pickle set, loaded the way that service loaded it: plain `pickle.load`."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.pickle_set import (
    FEATURE_NAMES_FILE,
    LABEL_ENCODER_FILE,
    MODEL_FILES,
    PICKLE_FILES,
    SCALER_FILE,
)


@dataclass(frozen=True)
class PickleSet:
    """The three classifiers and the preprocessing objects they were trained behind."""

    folder: Path
    models: dict[str, Any]
    scaler: Any
    label_encoder: Any
    feature_names: list[str]

    @property
    def class_labels(self) -> list[str]:
        return [str(label) for label in self.label_encoder.classes_]


def _load(path: Path) -> Any:
    with path.open("rb") as file:
        return pickle.load(file)


def load_pickle_set(folder: Path) -> PickleSet:
    """Load every pickle of the set; a missing file raises FileNotFoundError naming it."""
    missing = [name for name in PICKLE_FILES if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"pickle set in {folder} lacks {', '.join(missing)}")
    return PickleSet(
        folder=folder,
        models={name: _load(folder / file) for name, file in MODEL_FILES.items()},
        scaler=_load(folder / SCALER_FILE),
        label_encoder=_load(folder / LABEL_ENCODER_FILE),
        feature_names=[str(name) for name in _load(folder / FEATURE_NAMES_FILE)],
    )
