"""The existing service's pickle set: its six file names, and how to write and read them.

Unpickling runs whatever code the file names: load only pickle sets you made or trust.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

RANDOM_FOREST_FILE = "random_forest_ids.pkl"
XGBOOST_FILE = "xgboost_ids.pkl"
DECISION_TREE_FILE = "decision_tree_ids.pkl"
SCALER_FILE = "scaler.pkl"
LABEL_ENCODER_FILE = "label_encoder.pkl"
FEATURE_NAMES_FILE = "feature_names.pkl"
REPORT_FILE = "training_report.json"

# model name (the service's `model_name`) -> its pickle
MODEL_FILES: dict[str, str] = {
    "random_forest": RANDOM_FOREST_FILE,
    "xgboost": XGBOOST_FILE,
    "decision_tree": DECISION_TREE_FILE,
}
PICKLE_FILES: tuple[str, ...] = (
    *MODEL_FILES.values(),
    SCALER_FILE,
    LABEL_ENCODER_FILE,
    FEATURE_NAMES_FILE,
)
# model name -> the class training pickles for it (module, name), `expected_type`
MODEL_TYPES: dict[str, tuple[str, str]] = {
    "random_forest": ("sklearn.ensemble", "RandomForestClassifier"),
    "xgboost": ("xgboost", "XGBClassifier"),
    "decision_tree": ("sklearn.tree", "DecisionTreeClassifier"),
}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` so that `path` is either the old file or the whole new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A fresh name in the same folder (os.replace is atomic only within one file system), opened
    # with open() rather than mkstemp so the file gets the umask's usual permissions, not 0600.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with temporary.open("xb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def dump_pickle(obj: object, path: Path) -> None:
    """Pickle `obj` to `path` atomically, with plain `pickle` as the existing service loads it."""
    write_atomically(path, pickle.dumps(obj))


class PickleSetError(ValueError):
    """A folder that does not hold a usable pickle set; `str(error)` is one line naming the file."""


@dataclass(frozen=True)
class SourceFile:
    """One pickle as read: its name, size and sha256."""

    name: str
    sha256: str
    bytes: int


@dataclass(frozen=True)
class PickleSet:
    """The six unpickled objects of one pickle set, checked to fit together."""

    folder: Path
    models: dict[str, Any]  # model name (`MODEL_FILES`) -> the fitted classifier
    scaler: Any
    label_encoder: Any
    feature_names: tuple[str, ...]
    class_labels: tuple[str, ...]  # the label encoder's classes: class i of every model
    sources: dict[str, SourceFile]  # file name -> what was read

    def sources_of(self, model: str) -> dict[str, SourceFile]:
        """The files a model's answers come from: its own pickle and the three shared ones."""
        names = (MODEL_FILES[model], SCALER_FILE, LABEL_ENCODER_FILE, FEATURE_NAMES_FILE)
        return {name: self.sources[name] for name in names}


# (model name, the unpickled object) -> None, or PickleSetError naming the file
ModelCheck = Callable[[str, object], None]


def type_name(obj: object) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def expected_type(name: str, model: object) -> None:
    """The model's own class, as training writes it (`MODEL_TYPES`)."""
    module, cls = MODEL_TYPES[name]
    if type(model).__name__ != cls or not type(model).__module__.startswith(module):
        raise PickleSetError(f"{MODEL_FILES[name]}: holds {type_name(model)}, expected {cls}")


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
        raise PickleSetError(f"{name}: holds {type_name(obj)}, expected {expected}")


def _fitted(obj: object, *attributes: str) -> bool:
    return all(hasattr(obj, attribute) for attribute in attributes)


def _feature_names(obj: object) -> tuple[str, ...]:
    sequence = isinstance(obj, list | tuple) or (isinstance(obj, np.ndarray) and obj.ndim == 1)
    if not sequence or not all(isinstance(n, str) for n in obj):  # type: ignore[attr-defined]
        raise PickleSetError(
            f"{FEATURE_NAMES_FILE}: holds {type_name(obj)}, expected a list of str"
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


def load_pickle_set(folder: Path, check_model: ModelCheck = expected_type) -> PickleSet:
    """Unpickle the six files and check that they fit together; `check_model` vets each model's
    type first (by default: the class training writes). ONLY for trusted files: unpickling runs
    code."""
    # Deferred: only loading needs scikit-learn, the names above do not.
    from sklearn.preprocessing import LabelEncoder, StandardScaler

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
        check_model(name, model)
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
