"""Converting one model: build its graph, then run the parity gate on it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import onnxruntime as ort

from convert.boundary import boundary_points, non_finite_probes
from convert.check_data import CheckData
from convert.graph_model import build_graph
from convert.manifest import BATCH_THREADS, build_manifest, graph_metadata
from convert.parity import (
    TOLERANCE,
    Answers,
    ParityReport,
    RowSet,
    check_parity,
    graph_answers,
    pickle_answers,
)
from convert.repository import write_version
from convert.tree_model import TreeModel
from convert.triton import triton_config
from models.pickle_set import PickleSet


@dataclass(frozen=True)
class Converted:
    """Both graphs of one model and their parity reports (`report` passes when both do)."""

    name: str
    model: TreeModel
    onnx_bytes: bytes
    single_report: ParityReport
    batch_bytes: bytes
    batch_report: ParityReport
    seconds: float

    @property
    def report(self) -> ParityReport:
        """The self-contained graph's figures, or the batch graph's when only it failed."""
        if self.single_report.passed and not self.batch_report.passed:
            return self.batch_report
        return self.single_report


def session_for(onnx_bytes: bytes, threads: int = 0) -> ort.InferenceSession:
    """A session of a graph; `threads` intra-op threads (0: onnxruntime's default, one per
    core). A batch graph's sums are in the trees' order only on one thread."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])


def gate(
    pickle_set: PickleSet,
    model: TreeModel,
    onnx_bytes: bytes,
    check: CheckData,
    *,
    tolerance: float = TOLERANCE,
    threads: int = 0,
) -> ParityReport:
    """The parity gate for one graph of `model` (normally one that `convert_model` builds), run
    on `threads` intra-op threads (1 for a batch graph, as it is served)."""
    session = session_for(onnx_bytes, threads)
    n_classes = len(pickle_set.class_labels)
    clean = np.where(np.isfinite(check.features), check.features, 0.0)
    bases = clean if len(clean) else np.zeros((1, len(pickle_set.feature_names)))
    names = list(pickle_set.feature_names)

    def pickle_side(raw: np.ndarray) -> Answers:
        return pickle_answers(model.reference, pickle_set.scaler, pickle_set.label_encoder, raw)

    def graph_side(raw: np.ndarray) -> Answers:
        return graph_answers(session, raw, n_classes)

    return check_parity(
        pickle_side,
        graph_side,
        check=RowSet(check.features, check.describe),
        boundary=(
            RowSet(points.rows, partial(points.describe, forest=model.forest, feature_names=names))
            for points in boundary_points(model.forest, pickle_set.scaler, bases)
        ),
        probes=RowSet(non_finite_probes(bases[0]), lambda i: f"non-finite probe {i}"),
        check_data=check.names,
        tolerance=tolerance,
    )


def convert_model(
    pickle_set: PickleSet, name: str, model: TreeModel, check: CheckData
) -> Converted:
    """Build both graphs of one model and gate each: the self-contained `model.onnx` and the
    batch graph, run as it is served (one intra-op thread)."""
    started = time.perf_counter()
    graphs = {
        batch: build_graph(
            name,
            model,
            pickle_set.scaler,
            pickle_set.feature_names,
            pickle_set.class_labels,
            graph_metadata(pickle_set, name),
            batch=batch,
        ).SerializeToString()
        for batch in (False, True)
    }
    single = gate(pickle_set, model, graphs[False], check)
    batch = gate(pickle_set, model, graphs[True], check, threads=BATCH_THREADS)
    return Converted(
        name, model, graphs[False], single, graphs[True], batch, time.perf_counter() - started
    )


def publish(out: Path, pickle_set: PickleSet, done: Converted, version: int) -> Path:
    """Write a converted model that passed the gate into the repository at `out`."""
    if not done.report.passed:
        raise ValueError(f"{done.name} failed the parity gate: it gets no artifact")
    manifest = build_manifest(
        name=done.name,
        version=version,
        pickle_set=pickle_set,
        model=done.model,
        onnx_bytes=done.onnx_bytes,
        parity=done.single_report.manifest(),
        batch_bytes=done.batch_bytes,
        batch_parity=done.batch_report.manifest(),
    )
    config = triton_config(done.name, len(pickle_set.feature_names), len(pickle_set.class_labels))
    return write_version(
        out, done.name, version, done.onnx_bytes, manifest, config, batch_bytes=done.batch_bytes
    )
