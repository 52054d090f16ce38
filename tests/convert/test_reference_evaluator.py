"""A second runtime: the ONNX reference evaluator gives the graph's answers too, so the graph
follows the ONNX specification rather than one runtime's behaviour."""

from __future__ import annotations

import numpy as np
import pytest
from onnx.reference import ReferenceEvaluator

from convert.boundary import all_boundary_points, non_finite_probes
from convert.conversion import session_for
from convert.graph_model import build_graph
from convert.pickle_set import read_model
from models.pickle_set import MODEL_FILES
from tests.convert.conftest import FixtureSet

# The reference evaluator walks trees in Python: a sample keeps it to seconds.
SAMPLE = 40


@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in MODEL_FILES])
def test_reference_evaluator_agrees_with_onnxruntime(pickles: FixtureSet, name: str) -> None:
    pickle_set = pickles.load()
    model = read_model(pickle_set, name)
    graph = build_graph(
        name, model, pickle_set.scaler, pickle_set.feature_names, pickle_set.class_labels, {}
    )
    clean = np.where(np.isfinite(pickles.flows), pickles.flows, 0.0)
    points = all_boundary_points(model.forest, pickle_set.scaler, clean).rows
    rng = np.random.default_rng(0)
    rows = np.vstack(
        [
            pickles.flows[:SAMPLE],
            points[rng.choice(len(points), SAMPLE, replace=False)],
            non_finite_probes(clean[0])[::20],
        ]
    )
    labels, probabilities = session_for(graph.SerializeToString()).run(
        ["label", "probabilities"], {"features": rows}
    )
    # The graph tells finite values by x - x; numpy warns about the inf - inf it is meant to do.
    with np.errstate(invalid="ignore"):
        ref_labels, ref_probabilities = ReferenceEvaluator(graph).run(
            ["label", "probabilities"], {"features": rows}
        )
    assert np.asarray(ref_labels).tolist() == np.asarray(labels).tolist()
    ref_probabilities = np.asarray(ref_probabilities)
    assert ref_probabilities.dtype == np.float32
    # The same arithmetic except `exp` (XGBoost's probabilities), which may differ by an ulp.
    np.testing.assert_allclose(ref_probabilities, probabilities, rtol=0, atol=1e-6)
