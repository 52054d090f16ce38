"""The batch graphs answer exactly as the self-contained graphs, bit for bit, on one thread."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import onnx
import pytest

from convert.boundary import boundary_points, non_finite_probes
from convert.conversion import session_for
from convert.graph_model import build_graph
from convert.pickle_set import read_model
from models.pickle_set import MODEL_FILES
from tests.convert.conftest import FixtureSet, Repository

NAMES = [pytest.param(name, id=name) for name in MODEL_FILES]
# onnxruntime's tree loops change at 50 rows (more rows: other loops) and go by 128 rows.
SLICES = [1, 7, 50, 51, 128, 129, 512]


def _graphs(pickles: FixtureSet, name: str) -> tuple[bytes, bytes, np.ndarray]:
    """model.onnx, the batch graph, and rows probing them: flows, boundary points, non-finite
    values in every feature."""
    pickle_set = pickles.load()
    model = read_model(pickle_set, name)
    graphs = [
        build_graph(
            name,
            model,
            pickle_set.scaler,
            pickle_set.feature_names,
            pickle_set.class_labels,
            {},
            batch=batch,
        ).SerializeToString()
        for batch in (False, True)
    ]
    clean = np.where(np.isfinite(pickles.flows), pickles.flows, 0.0)
    points = next(iter(boundary_points(model.forest, pickle_set.scaler, clean)), None)
    rows = [pickles.flows, non_finite_probes(clean[0])]
    if points is not None:
        rows.append(points.rows[:4000])
    return graphs[0], graphs[1], np.ascontiguousarray(np.vstack(rows))


def _assert_same(expected: list[Any], got: list[Any]) -> None:
    assert got[0].tolist() == expected[0].tolist()
    # Bit for bit: the float32 words themselves, not a tolerance.
    assert got[1].dtype == expected[1].dtype == np.float32
    assert got[1].view(np.uint32).tolist() == expected[1].view(np.uint32).tolist()


@pytest.mark.parametrize("name", NAMES)
def test_batch_graph_answers_bit_for_bit_as_model_onnx(pickles: FixtureSet, name: str) -> None:
    single, batch, rows = _graphs(pickles, name)
    expected = session_for(single, threads=1).run(None, {"features": rows})
    session = session_for(batch, threads=1)
    _assert_same(expected, session.run(None, {"features": rows}))
    for size in SLICES:
        parts = [
            session.run(None, {"features": rows[i : i + size]}) for i in range(0, len(rows), size)
        ]
        joined = [np.concatenate([p[k] for p in parts]) for k in (0, 1)]
        _assert_same(expected, joined)


@pytest.mark.parametrize("name", NAMES)
def test_batch_graph_keeps_the_contract(repository: Repository, name: str) -> None:
    """Same signature and metadata as model.onnx, its own opsets, and its parity figures in the
    manifest beside model.onnx's."""
    folder = repository.out / name / "1"
    manifest = json.loads((folder / "manifest.json").read_text())
    batch = manifest["batch"]
    assert batch["file"] == "model.batch.onnx"
    assert batch["intra_op_threads"] == 1
    assert batch["parity"]["passed"] is True
    assert batch["parity"]["label_mismatches"] == 0
    assert batch["parity"]["rows"] == manifest["parity"]["rows"]
    assert batch["parity"]["boundary_points"] == manifest["parity"]["boundary_points"]
    assert batch["bytes"] == len((folder / "model.batch.onnx").read_bytes())
    single = onnx.load(str(folder / "model.onnx"))
    graph = onnx.load(str(folder / "model.batch.onnx"))
    onnx.checker.check_model(graph, full_check=True)
    assert graph.graph.input == single.graph.input
    assert graph.graph.output == single.graph.output
    props = {p.key: p.value for p in graph.metadata_props}
    assert props == {p.key: p.value for p in single.metadata_props}
    assert batch["opsets"] == {o.domain or "": o.version for o in graph.opset_import}
    assert "intra_op_num_threads=1" in graph.doc_string


def test_rows_spread_over_concurrent_runs_answer_as_one_run(binary_pickles: FixtureSet) -> None:
    """Runs of one session at the same time, on parts of the rows, as the server makes them."""
    single, batch, rows = _graphs(binary_pickles, "random_forest")
    expected = session_for(single, threads=1).run(None, {"features": rows})
    session = session_for(batch, threads=1)
    parts = np.array_split(rows, 4)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda part: session.run(None, {"features": part}), parts))
    _assert_same(expected, [np.concatenate([a[k] for a in answers]) for k in (0, 1)])
