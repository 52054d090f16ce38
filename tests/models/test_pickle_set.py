"""Reading and writing pickle sets."""

from __future__ import annotations

import os
import pickle
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from models.pickle_set import (
    MODEL_FILES,
    PICKLE_FILES,
    PickleSetError,
    load_pickle_set,
    write_atomically,
)


def test_names_are_the_services() -> None:
    assert MODEL_FILES == {
        "random_forest": "random_forest_ids.pkl",
        "xgboost": "xgboost_ids.pkl",
        "decision_tree": "decision_tree_ids.pkl",
    }
    assert PICKLE_FILES[3:] == ("scaler.pkl", "label_encoder.pkl", "feature_names.pkl")


def test_a_trained_set_loads_checked(binary_set: tuple[Path, dict[str, Any]]) -> None:
    folder, _ = binary_set
    loaded = load_pickle_set(folder)
    assert set(loaded.models) == set(MODEL_FILES)
    assert loaded.label_encoder.classes_.tolist() == ["ATTACK", "BENIGN"]
    assert len(loaded.feature_names) == 78


def _swap_models(folder: Path) -> None:
    forest, tree = folder / "random_forest_ids.pkl", folder / "decision_tree_ids.pkl"
    forest_bytes = forest.read_bytes()
    forest.write_bytes(tree.read_bytes())
    tree.write_bytes(forest_bytes)


DAMAGE: dict[str, Callable[[Path], object]] = {
    "remove": lambda folder: (folder / "scaler.pkl").unlink(),
    "swap": lambda folder: (folder / "scaler.pkl").write_bytes(pickle.dumps(["not", "a"])),
    "models": _swap_models,
}


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        pytest.param("remove", "missing scaler.pkl", id="missing file"),
        pytest.param(
            "swap",
            "scaler.pkl: holds builtins.list, expected a fitted sklearn.preprocessing.StandardScal",
            id="type",
        ),
        pytest.param(
            "models",
            "random_forest_ids.pkl: holds sklearn.tree._classes.DecisionTreeClassifier, "
            "expected RandomForestClassifier",
            id="a model in another model's file",
        ),
    ],
)
def test_a_broken_set_is_refused(
    binary_set: tuple[Path, dict[str, Any]], tmp_path: Path, damage: str, match: str
) -> None:
    folder = tmp_path / "set"
    shutil.copytree(binary_set[0], folder)
    DAMAGE[damage](folder)
    with pytest.raises(PickleSetError, match=match):
        load_pickle_set(folder)


def test_atomic_write_replaces_whole_files_and_leaves_no_temporaries(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "file.pkl"
    write_atomically(target, b"old")
    write_atomically(target, b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in target.parent.iterdir()] == ["file.pkl"]
    umask = os.umask(0)
    os.umask(umask)
    # permissions as for any file the user writes (a temporary file would be 0600)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
