"""Which estimator types convert, and the reader that turns each into a `TreeModel`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sklearn.ensemble import RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier
from xgboost import XGBClassifier

from convert.sklearn_trees import read_sklearn
from convert.tree_model import TreeModel
from convert.xgboost_trees import read_xgboost

# Exact types only: a subclass may predict differently from what its reader reproduces.
READERS: dict[type, Callable[[Any], TreeModel]] = {
    RandomForestClassifier: read_sklearn,
    DecisionTreeClassifier: read_sklearn,
    XGBClassifier: read_xgboost,
}


def supported_types() -> str:
    return ", ".join(sorted(cls.__name__ for cls in READERS))


def reader_for(model: object) -> Callable[[Any], TreeModel] | None:
    return READERS.get(type(model))
