"""The flows the parity gate runs: flow CSV files (any naming of `flows.columns`), or synthetic
flows by default."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from convert.errors import CheckDataError
from flows.columns import NameLookup
from models.dataset import load_flows
from models.features import FEATURE_NAMES
from models.synthetic import generate_flows

SYNTHETIC_ROWS = 20_000
SYNTHETIC_SEED = 7


@dataclass(frozen=True)
class CheckData:
    """Raw flows (non-finite values kept) in the pickle set's feature order, with provenance."""

    features: np.ndarray
    names: tuple[str, ...]
    source_index: np.ndarray
    source_row: np.ndarray

    @classmethod
    def from_array(cls, features: np.ndarray, name: str) -> CheckData:
        n = len(features)
        return cls(np.asarray(features, np.float64), (name,), np.zeros(n, np.int64), np.arange(n))

    def describe(self, i: int) -> str:
        return f"{self.names[int(self.source_index[i])]} flow {int(self.source_row[i]) + 1}"


def _in_model_order(
    features: np.ndarray, columns: Sequence[str], feature_names: Sequence[str]
) -> np.ndarray:
    """The columns of `features` (named `columns`) in the pickle set's order; the pickle set may
    name them in any naming of `flows.columns`."""
    lookup = NameLookup(columns)
    found = [lookup.find(name) for name in feature_names]
    unknown = [name for name, index in zip(feature_names, found, strict=True) if index is None]
    if unknown:
        raise CheckDataError(
            f"the pickle set's features {', '.join(map(repr, unknown[:3]))} are not flow "
            "features of CICIDS2017, CICFlowMeter or CSE-CIC-IDS2018, so check data cannot be "
            "matched to them"
        )
    return features[:, [index for index in found if index is not None]]


def read_check_data(paths: Sequence[Path], feature_names: Sequence[str]) -> CheckData:
    """Every row of the given flow CSV files and folders, values as written; their columns may
    be named as CICIDS2017, CICFlowMeter or CSE-CIC-IDS2018 name them (`flows.columns`)."""
    try:
        flows = load_flows([str(p) for p in paths])
    except (OSError, ValueError) as error:  # the reader's errors are ValueErrors
        raise CheckDataError(f"check data: {error}") from error
    if len(flows) == 0:
        raise CheckDataError(f"check data: no flows in {', '.join(map(str, paths))}")
    index = np.asarray(flows.source_index, dtype=np.int64)
    first = np.searchsorted(index, np.arange(len(flows.sources)))
    return CheckData(
        features=_in_model_order(flows.features, FEATURE_NAMES, feature_names),
        names=tuple(flows.sources),
        source_index=index,
        source_row=np.arange(len(index)) - first[index],
    )


def synthetic_check_data(
    feature_names: Sequence[str], rows: int = SYNTHETIC_ROWS, seed: int = SYNTHETIC_SEED
) -> CheckData:
    """Synthetic CICIDS2017-like flows, raw (with the generator's inf and NaN values)."""
    flows = generate_flows(rows, seed=seed)
    features = _in_model_order(flows.features, FEATURE_NAMES, feature_names)
    return CheckData.from_array(features, f"synthetic:{rows}")
