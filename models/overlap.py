"""Flows that several input files share (the same flow published in both layouts, say)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.dataset import Flows

_MIX = np.uint64(0x9E3779B97F4A7C15)


def _row_hashes(flows: Flows) -> np.ndarray:
    hashes: np.ndarray = pd.util.hash_array(flows.labels.astype(object))
    for column in range(flows.features.shape[1]):
        # Equal values hash equally whatever their bits: -0.0 is 0.0, as it is to the models.
        hashes = hashes * _MIX ^ pd.util.hash_array(flows.features[:, column] + 0.0)
    return hashes


def _exact_keys(flows: Flows, rows: np.ndarray) -> np.ndarray:
    label_ids = pd.factorize(flows.labels[rows])[0]
    table = np.column_stack([flows.features[rows] + 0.0, label_ids.astype(np.float64)])
    as_bytes = np.ascontiguousarray(table).view(
        np.dtype((np.void, table.dtype.itemsize * table.shape[1]))
    )
    return np.unique(as_bytes.ravel(), return_inverse=True)[1]


def _repeats_of_earlier_files(source: np.ndarray, keys: np.ndarray) -> np.ndarray:
    first_source = pd.Series(source).groupby(keys).transform("min").to_numpy()
    repeated: np.ndarray = first_source < source
    return repeated


def drop_cross_file_repeats(flows: Flows) -> tuple[Flows, int]:
    """Drop each row that an earlier source already holds (same features and label).

    Repeats within one file stay: they are the dataset's own (CICFlowMeter emits identical flows),
    and the existing training kept them. Only a flow published in several files is counted once,
    so it cannot land on both sides of the train/test split. Returns the kept rows and how many
    were dropped.
    """
    if len(flows.sources) < 2 or len(flows) == 0:
        return flows, 0
    hashes = _row_hashes(flows)
    suspects = _repeats_of_earlier_files(flows.source_index, hashes)
    if not suspects.any():
        return flows, 0
    # A 64-bit hash may collide: confirm on the exact values of every row sharing a suspect hash.
    rows = np.flatnonzero(np.isin(hashes, hashes[suspects]))
    repeats = rows[_repeats_of_earlier_files(flows.source_index[rows], _exact_keys(flows, rows))]
    keep = np.ones(len(flows), dtype=bool)
    keep[repeats] = False
    return flows.select(keep), int(repeats.size)
