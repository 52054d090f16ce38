"""Product trees: grouped trees give every tree's own leaf, pruned paths and threads included."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from sklearn.ensemble import RandomForestClassifier

from convert.forest import Forest
from convert.graph import FLOAT, GraphBuilder, tensor
from convert.graph_trees import add_leaf_weights
from convert.sklearn_trees import read_sklearn
from convert.tree_groups import product_trees

N_TREES = 8


def _forest() -> tuple[RandomForestClassifier, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.lognormal(0.0, 3.0, (60, 3)).astype(np.float32)
    # Bootstrap samples that miss both rare rows grow one-leaf trees.
    y = np.array([0] * 58 + [1] * 2)
    forest = RandomForestClassifier(n_estimators=N_TREES, max_depth=3, random_state=3).fit(x, y)
    # Few features: later trees split again on ranges earlier trees have already narrowed.
    rows = np.concatenate([x, rng.lognormal(0.0, 3.0, (200, 3)).astype(np.float32)])
    rows[::7, 0] = np.nan
    rows[::11, 1] = np.inf
    rows[::13, 2] = -np.inf
    return forest, rows


def _leaf_numbers(forest: Forest, rows: np.ndarray, group_leaves: int, threads: int) -> np.ndarray:
    """[trees, N]: the global leaf each row reaches, from the graph's tree part."""
    b = GraphBuilder()
    numbers = np.arange(forest.n_leaves, dtype=np.float32)
    leaves = add_leaf_weights(b, "x", forest, numbers, np.arange(N_TREES), group_leaves)
    b.op("Identity", [leaves], output="leaves")
    graph = b.model(
        inputs=[tensor("x", FLOAT, ["N", 3])],
        outputs=[tensor("leaves", FLOAT, [N_TREES, "N"])],
        name="grouped trees",
        doc="",
        metadata={},
    )
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(graph.SerializeToString(), options, ["CPUExecutionProvider"])
    (got,) = session.run(None, {"x": rows})
    return np.asarray(got, dtype=np.int64)


@pytest.mark.parametrize(
    ("group_leaves", "threads"),
    [
        pytest.param(4, 1, id="small products"),
        pytest.param(64, 1, id="several trees a group"),
        pytest.param(10**6, 1, id="one group"),
        pytest.param(64, 2, id="two threads"),
    ],
)
def test_grouped_trees_give_each_trees_own_leaf(group_leaves: int, threads: int) -> None:
    forest, rows = _forest()
    model = read_sklearn(forest)
    assert 0 < (model.forest.roots < 0).sum() < N_TREES
    products = product_trees(model.forest, list(range(N_TREES)), group_leaves, 10**6)
    assert products is not None
    assert 1 <= len(products.trees) < N_TREES
    ungrouped, grouped = (
        _leaf_numbers(model.forest, rows, leaves, threads) for leaves in (0, group_leaves)
    )
    assert grouped.tolist() == ungrouped.tolist()
    finite = np.isfinite(rows).all(axis=1)
    expected = [
        offset + np.searchsorted(np.flatnonzero(e.tree_.children_left == -1), e.apply(rows[finite]))
        for e, offset in zip(forest.estimators_, model.forest.leaf_offsets, strict=True)
    ]
    assert grouped[:, finite].tolist() == np.array(expected).tolist()


def test_paths_that_decide_a_split_skip_it() -> None:
    """A product walks no split its path has already decided: it has fewer splits than the
    trees grafted naively (each tree's splits once under every leaf of the trees before)."""
    forest, _ = _forest()
    trees = read_sklearn(forest).forest
    products = product_trees(trees, list(range(N_TREES)), 10**6, 10**6)
    assert products is not None
    naive, leaves_so_far = 0, 1
    for t in range(N_TREES):
        splits = np.sum(trees.leaf_tree == t) - 1
        naive += leaves_so_far * splits
        leaves_so_far *= splits + 1
    assert len(products.trees) == 1
    assert len(products.forest.feature) < naive


def test_products_past_the_total_are_refused() -> None:
    """Products outgrow the caches: past the total the trees stay one output each."""
    trees = read_sklearn(_forest()[0]).forest
    assert product_trees(trees, list(range(N_TREES)), 10**6, trees.n_leaves) is None
