"""Reading and checking the six-file pickle set the existing service loads.

Unpickling runs whatever code the file names: convert only pickle sets you made or trust.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.preprocessing import LabelEncoder, StandardScaler

from convert.errors import PickleSetError, UnsupportedModelError
from convert.registry import reader_for, supported_types
from convert.tree_model import TreeModel

MODEL_FILES: dict[str, str] = {
    "random_forest": "random_forest_ids.pkl",
    "xgboost": "xgboost_ids.pkl",
    "decision_tree": "decision_tree_ids.pkl",
}
SCALER_FILE = "scaler.pkl"
LABEL_ENCODER_FILE = "label_encoder.pkl"
FEATURE_NAMES_FILE = "feature_names.pkl"
PICKLE_FILES = (*MODEL_FILES.values(), SCALER_FILE, LABEL_ENCODER_FILE, FEATURE_NAMES_FILE)


@dataclass(frozen=True)
class SourceFile:
    """One pickle as read: its name, size and sha256."""

    name: str
    sha256: str
    bytes: int


@dataclass(frozen=True)
class PickleSet:
    """A checked pickle set: models by service name, with the shared preprocessing."""

    folder: Path
    models: dict[str, Any]
    scaler: Any
    label_encoder: Any
    feature_names: tuple[str, ...]
    class_labels: tuple[str, ...]
    sources: dict[str, SourceFile]

    def sources_of(self, model: str) -> dict[str, SourceFile]:
        """The files a model's graph is built from: its own pickle and the three shared ones."""
        names = (MODEL_FILES[model], SCALER_FILE, LABEL_ENCODER_FILE, FEATURE_NAMES_FILE)
        return {name: self.sources[name] for name in names}


def _type_name(obj: object) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def _unpickle(folder: Path, name: str) -> tuple[Any, SourceFile]:
    data = (folder / name).read_bytes()
    try:
        obj = pickle.loads(data)  # trusted input only: see the module docstring
    except Exception as error:  # any exception: unpickling runs arbitrary code
        raise PickleSetError(
            f"{name}: cannot be unpickled ({type(error).__name__}: {error})"
        ) from error
    return obj, SourceFile(name, hashlib.sha256(data).hexdigest(), len(data))


def _expect(ok: bool, name: str, obj: object, expected: str) -> None:
    if not ok:
        raise PickleSetError(f"{name}: holds {_type_name(obj)}, expected {expected}")


def _fitted(obj: object, *attributes: str) -> bool:
    return all(hasattr(obj, attribute) for attribute in attributes)


def _feature_names(obj: object) -> tuple[str, ...]:
    sequence = isinstance(obj, list | tuple) or (isinstance(obj, np.ndarray) and obj.ndim == 1)
    if not sequence or not all(isinstance(n, str) for n in obj):  # type: ignore[attr-defined]
        raise PickleSetError(
            f"{FEATURE_NAMES_FILE}: holds {_type_name(obj)}, expected a list of str"
        )
    return tuple(str(n) for n in obj)  # type: ignore[attr-defined]


def _class_labels(encoder: Any) -> tuple[str, ...]:
    classes = np.asarray(encoder.classes_)
    if classes.ndim != 1 or len(classes) < 2 or not all(isinstance(c, str) for c in classes):
        raise PickleSetError(
            f"{LABEL_ENCODER_FILE}: classes {classes.tolist()!r} are not two or more class names"
        )
    return tuple(str(c) for c in classes)


def _check_model(name: str, model: Any, width: int, n_classes: int) -> None:
    file = MODEL_FILES[name]
    if reader_for(model) is None:
        what = "an estimator" if hasattr(model, "predict") else "an object"
        raise PickleSetError(
            f"{file}: holds {_type_name(model)}, {what} convert does not support "
            f"(supported: {supported_types()})"
        )
    if not _fitted(model, "n_features_in_", "classes_"):
        raise PickleSetError(f"{file}: holds an unfitted {type(model).__name__}")
    if model.n_features_in_ != width:
        raise PickleSetError(
            f"{file}: the model takes {model.n_features_in_} features, but the scaler gives {width}"
        )
    classes = np.asarray(model.classes_)
    if classes.tolist() != list(range(n_classes)):
        raise PickleSetError(
            f"{file}: the model predicts classes {classes.tolist()!r}, but {LABEL_ENCODER_FILE} "
            f"encodes {n_classes} classes as 0..{n_classes - 1}"
        )


def load_pickle_set(folder: Path) -> PickleSet:
    """Unpickle and check the six files. ONLY for trusted files: unpickling runs code."""
    if not folder.is_dir():
        raise PickleSetError(
            f"{folder}: no such folder (expected the pickle set: {', '.join(PICKLE_FILES)})"
        )
    missing = [name for name in PICKLE_FILES if not (folder / name).is_file()]
    if missing:
        raise PickleSetError(
            f"{folder}: missing {', '.join(missing)} (a pickle set is {', '.join(PICKLE_FILES)})"
        )
    loaded = {name: _unpickle(folder, name) for name in PICKLE_FILES}
    scaler, encoder, names = (
        loaded[n][0] for n in (SCALER_FILE, LABEL_ENCODER_FILE, FEATURE_NAMES_FILE)
    )
    _expect(
        type(scaler) is StandardScaler and _fitted(scaler, "n_features_in_", "mean_", "scale_"),
        SCALER_FILE,
        scaler,
        "a fitted sklearn.preprocessing.StandardScaler",
    )
    _expect(
        type(encoder) is LabelEncoder and _fitted(encoder, "classes_"),
        LABEL_ENCODER_FILE,
        encoder,
        "a fitted sklearn.preprocessing.LabelEncoder",
    )
    feature_names = _feature_names(names)
    width = int(scaler.n_features_in_)
    if len(feature_names) != width:
        raise PickleSetError(
            f"{FEATURE_NAMES_FILE}: {len(feature_names)} names, but {SCALER_FILE} scales "
            f"{width} features"
        )
    class_labels = _class_labels(encoder)
    models = {name: loaded[file][0] for name, file in MODEL_FILES.items()}
    for name, model in models.items():
        _check_model(name, model, width, len(class_labels))
    return PickleSet(
        folder=folder,
        models=models,
        scaler=scaler,
        label_encoder=encoder,
        feature_names=feature_names,
        class_labels=class_labels,
        sources={name: source for name, (_, source) in loaded.items()},
    )


def read_model(pickle_set: PickleSet, name: str) -> TreeModel:
    """The named model in the converter's terms; `UnsupportedModelError` names the file."""
    model = pickle_set.models[name]
    reader: Callable[[Any], TreeModel] | None = reader_for(model)
    assert reader is not None  # checked by load_pickle_set
    try:
        return reader(model)
    except UnsupportedModelError as error:
        raise UnsupportedModelError(f"{MODEL_FILES[name]}: {error}") from error
