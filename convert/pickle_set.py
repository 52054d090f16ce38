"""The pickle set as convert reads it: the shared loader, with convert's own model check.

Unpickling runs whatever code the file names: convert only pickle sets you made or trust.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from convert.errors import UnsupportedModelError
from convert.registry import reader_for, supported_types
from convert.tree_model import TreeModel
from models.pickle_set import MODEL_FILES, PickleSet, PickleSetError, type_name
from models.pickle_set import load_pickle_set as load_checked


def convertible(name: str, model: object) -> None:
    """A model of a type convert reads, in whichever of the three files it stands."""
    if reader_for(model) is None:
        what = "an estimator" if hasattr(model, "predict") else "an object"
        raise PickleSetError(
            f"{MODEL_FILES[name]}: holds {type_name(model)}, {what} convert does not support "
            f"(supported: {supported_types()})"
        )


def load_pickle_set(folder: Path) -> PickleSet:
    """Unpickle and check the six files. ONLY for trusted files: unpickling runs code."""
    return load_checked(folder, convertible)


def read_model(pickle_set: PickleSet, name: str) -> TreeModel:
    """The named model in the converter's terms; `UnsupportedModelError` names the file."""
    model = pickle_set.models[name]
    reader: Callable[[Any], TreeModel] | None = reader_for(model)
    assert reader is not None  # checked by load_pickle_set
    try:
        return reader(model)
    except UnsupportedModelError as error:
        raise UnsupportedModelError(f"{MODEL_FILES[name]}: {error}") from error
