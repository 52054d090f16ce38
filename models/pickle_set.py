"""The existing service's pickle set: its six file names, and how to write and read them.

Unpickling runs whatever code the file names: load only pickle sets you made or trust.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
# model name -> the class its pickle holds (module, name), checked by `load_pickle_set`
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
    """A folder that does not hold a usable pickle set."""


@dataclass(frozen=True)
class PickleSet:
    """The six unpickled objects of one pickle set."""

    models: dict[str, Any]
    scaler: Any
    label_encoder: Any
    feature_names: list[str]


def _check_type(obj: object, module: str, name: str, file: str) -> None:
    cls = type(obj)
    if cls.__name__ != name or not cls.__module__.startswith(module):
        raise PickleSetError(f"{file}: holds {cls.__module__}.{cls.__name__}, expected {name}")


def load_pickle_set(folder: Path) -> PickleSet:
    """Unpickle and type-check a pickle set. ONLY for trusted files: unpickling runs code."""
    missing = [name for name in PICKLE_FILES if not (folder / name).is_file()]
    if missing:
        raise PickleSetError(f"{folder}: pickle set incomplete, missing {', '.join(missing)}")

    def load(name: str) -> Any:
        with (folder / name).open("rb") as handle:
            return pickle.load(handle)  # trusted input only, see the module docstring

    models = {model: load(file) for model, file in MODEL_FILES.items()}
    for model, (module, name) in MODEL_TYPES.items():
        _check_type(models[model], module, name, MODEL_FILES[model])
    scaler, encoder, names = load(SCALER_FILE), load(LABEL_ENCODER_FILE), load(FEATURE_NAMES_FILE)
    _check_type(scaler, "sklearn.preprocessing", "StandardScaler", SCALER_FILE)
    _check_type(encoder, "sklearn.preprocessing", "LabelEncoder", LABEL_ENCODER_FILE)
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise PickleSetError(f"{FEATURE_NAMES_FILE}: expected a list of str")
    if len(names) != scaler.n_features_in_:
        raise PickleSetError(
            f"{FEATURE_NAMES_FILE}: {len(names)} names, but the scaler takes "
            f"{scaler.n_features_in_} features"
        )
    return PickleSet(models=models, scaler=scaler, label_encoder=encoder, feature_names=names)
