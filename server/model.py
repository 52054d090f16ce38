"""One model version ready to serve: its manifest and its onnxruntime session, checked together."""

from __future__ import annotations

import hashlib
import itertools
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from server.codecs.features import FeatureSchema
from server.datatypes import ORT_TO_V2
from server.errors import ArtifactError
from server.manifest import (
    LABEL,
    PROBABILITIES,
    BatchGraph,
    Manifest,
    TensorSpec,
    read_manifest,
)
from server.settings import Settings

MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True, slots=True)
class Prediction:
    labels: np.ndarray[Any, np.dtype[np.object_]]  # [N] str
    probabilities: np.ndarray[Any, np.dtype[np.float32]]  # [N, C], columns in class_labels order
    seconds: float  # time spent in onnxruntime


# Rows per concurrent run of a batch graph: below this a split costs more than it gives (the
# hand-over to another thread is tens of microseconds; 500 forest rows take about 2 ms).
SPLIT_ROWS = 500
# Rows per run of a batch graph: a large batch runs in slices of at most this many rows, whose
# float64 intermediates (78 features, 312 KB) stay in a core's cache (measured on 10k rows
# against one run: XGBoost 0.89x the time, the decision tree 0.57x, the forest within noise).
RUN_ROWS = 512


class Model:
    """A loaded model version. `predict` is thread-safe (onnxruntime sessions are)."""

    __slots__ = (
        "_batch_session",
        "_executor",
        "_input",
        "_outputs",
        "_run_options",
        "_run_rows",
        "_session",
        "_ways",
        "class_labels",
        "manifest",
        "name",
        "schema",
        "version",
    )

    def __init__(
        self,
        manifest: Manifest,
        session: ort.InferenceSession,
        schema: FeatureSchema,
        batch_session: ort.InferenceSession | None = None,
        ways: int = 1,
    ):
        """`batch_session` runs large batches (default: `session`); with `ways` > 1 a large
        batch's rows are split between that many concurrent runs of it (a batch graph, whose
        runs have one intra-op thread each)."""
        self.manifest = manifest
        self.name = manifest.name
        self.version = str(manifest.version)
        self.class_labels = manifest.class_labels
        self.schema = schema
        self._session = session
        self._batch_session = session if batch_session is None else batch_session
        self._input = manifest.inputs[0].name
        self._outputs = [LABEL, PROBABILITIES]
        # Given explicitly, run options are not built afresh for every run (0.5 us of a
        # single row's 10 us). Only read during a run, so concurrent runs share them.
        self._run_options = ort.RunOptions()
        self._ways = ways
        # Only a batch graph (one thread a run) is sliced; another session uses its threads.
        self._run_rows = RUN_ROWS if manifest.batch is not None else 0
        # Threads for the other parts of a split batch; the calling thread runs the first.
        self._executor = ThreadPoolExecutor(ways - 1, "ids-rows") if ways > 1 else None

    def predict(
        self, features: np.ndarray[Any, np.dtype[np.float64]], *, large: bool = False
    ) -> Prediction:
        """Run the graph on float64 rows `[N, n_features]`. A `large` batch runs on the batch
        session (the batch graph, or the same graph with more threads) when there is one, its
        rows split between concurrent runs when it has enough of them; answers are the same."""
        start = time.perf_counter()
        if large:
            labels, probabilities = self._run_large(features)
        else:  # inline, not through `_run`: a single row's whole run is about 10 us
            labels, probabilities = self._session.run(
                self._outputs, {self._input: features}, self._run_options
            )
        return Prediction(labels, probabilities, time.perf_counter() - start)

    def _run(self, session: ort.InferenceSession, rows: np.ndarray) -> Answers:
        labels, probabilities = session.run(self._outputs, {self._input: rows}, self._run_options)
        return labels, probabilities

    def _run_large(self, features: np.ndarray) -> Answers:
        if not self._run_rows:
            return self._run(self._batch_session, features)
        parts = min(self._ways, len(features) // SPLIT_ROWS)
        if parts <= 1 or self._executor is None:
            return self._run_slices(features)
        # Every row's answer depends on that row alone, so contiguous parts run apart give the
        # answers of one run; onnxruntime releases the GIL while it runs.
        bounds = np.linspace(0, len(features), parts + 1).astype(int)
        rows = [features[a:b] for a, b in itertools.pairwise(bounds)]
        others = [self._executor.submit(self._run_slices, part) for part in rows[1:]]
        return _joined([self._run_slices(rows[0]), *(future.result() for future in others)])

    def _run_slices(self, rows: np.ndarray) -> Answers:
        size = self._run_rows
        if len(rows) <= size:
            return self._run(self._batch_session, rows)
        return _joined(
            [self._run(self._batch_session, rows[i : i + size]) for i in range(0, len(rows), size)]
        )


Answers = tuple[np.ndarray, np.ndarray]


def predict_in_batches(
    model: Model, rows: np.ndarray[Any, np.dtype[np.float64]], batch_rows: int = 0
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, np.dtype[np.float32]]]:
    """The labels and probabilities of `rows` on the large-batch path, run `batch_rows` rows at a
    time (0: all at once): how the commands that score outside the server (`score`, its Spark
    function, `detect`) run a model, so they all give the server's answers."""
    if not batch_rows or len(rows) <= batch_rows:
        result = model.predict(rows, large=True)
        return result.labels, result.probabilities
    parts = [
        model.predict(rows[start : start + batch_rows], large=True)
        for start in range(0, len(rows), batch_rows)
    ]
    return (
        np.concatenate([part.labels for part in parts]),
        np.concatenate([part.probabilities for part in parts]),
    )


def _joined(answers: list[Answers]) -> Answers:
    return (
        np.concatenate([labels for labels, _ in answers]),
        np.concatenate([probabilities for _, probabilities in answers]),
    )


def session_options(threads: int, spinning: bool) -> ort.SessionOptions:
    """Options shared by every session: `threads` intra-op threads, one inter-op, all graph
    optimisations, sequential execution (the graphs are one chain of operators)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Spinning intra-op threads keep a core busy between runs; on a small machine the event loop
    # needs that core, so it is off unless asked for (it only matters with threads > 1).
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    options.log_severity_level = 3
    return options


def session_options_for(settings: Settings) -> tuple[ort.SessionOptions, ort.SessionOptions | None]:
    """The options of the session that answers on the event loop (single rows, small batches)
    and, when large batches get more threads, of the session that runs those."""
    small = session_options(settings.intra_op_threads, settings.spinning)
    threads = settings.large_batch_threads()
    if threads == settings.intra_op_threads:
        return small, None
    return small, session_options(threads, settings.spinning)


def load_model(
    folder: Path, options: ort.SessionOptions, batch_options: ort.SessionOptions | None = None
) -> Model:
    """Load `folder/manifest.json` and its graph; refuse anything that breaks the contract.

    Large batches run on the batch graph when the manifest names one: on the intra-op threads
    it asks for (one), the rows split between as many concurrent runs as `batch_options` (else
    `options`) has threads. Without it, and with `batch_options`, a second session of the same
    graph with those options runs them."""
    manifest = read_manifest(folder / MANIFEST_FILE)
    graph_path = folder / manifest.onnx_file
    graph = _read_graph(graph_path, manifest.size, manifest.sha256)
    # The session is built from the bytes just checked, so what runs is what was verified.
    session = _session(graph_path, graph, options)
    _check_signature(graph_path, manifest.inputs, session.get_inputs(), "input")
    _check_signature(graph_path, manifest.outputs, session.get_outputs(), "output")
    try:
        schema = FeatureSchema(manifest.feature_names)
    except ValueError as error:
        raise ArtifactError(f"{folder / MANIFEST_FILE}: {error}") from None
    ways = 1
    if manifest.batch is not None:
        batch_session = _batch_session(folder, manifest, manifest.batch)
        threads = (batch_options or options).intra_op_num_threads
        ways = max(1, threads // manifest.batch.threads)
    elif batch_options is not None:
        batch_session = _session(graph_path, graph, batch_options)
    else:
        batch_session = None
    model = Model(manifest, session, schema, batch_session, ways)
    _probe(graph_path, model, large=False)
    if batch_session is not None:
        path = graph_path if manifest.batch is None else folder / manifest.batch.file
        _probe(path, model, large=True)
    return model


def _read_graph(path: Path, size: int, sha256: str) -> bytes:
    try:
        graph = path.read_bytes()
    except OSError as error:
        raise ArtifactError(f"{path}: cannot read the graph ({error.strerror})") from None
    if len(graph) != size:
        raise ArtifactError(f"{path}: {len(graph)} bytes, but the manifest says {size}")
    digest = hashlib.sha256(graph).hexdigest()
    if digest != sha256:
        raise ArtifactError(f"{path}: sha256 {digest} does not match the manifest's {sha256}")
    return graph


def _batch_session(folder: Path, manifest: Manifest, batch: BatchGraph) -> ort.InferenceSession:
    path = folder / batch.file
    # Exactly the threads the graph asks for: its sums are in the libraries' order only so.
    options = session_options(batch.threads, spinning=False)
    session = _session(path, _read_graph(path, batch.size, batch.sha256), options)
    _check_signature(path, manifest.inputs, session.get_inputs(), "input")
    _check_signature(path, manifest.outputs, session.get_outputs(), "output")
    return session


def _session(path: Path, graph: bytes, options: ort.SessionOptions) -> ort.InferenceSession:
    try:
        return ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises several unrelated types for a bad graph
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
        raise ArtifactError(f"{path}: onnxruntime cannot load it ({first_line})") from None


def _check_signature(path: Path, specs: tuple[TensorSpec, ...], args: list[Any], role: str) -> None:
    declared = {spec.name: spec for spec in specs}
    found = {arg.name: arg for arg in args}
    if set(declared) != set(found):
        raise ArtifactError(
            f"{path}: the graph's {role}s {sorted(found)} differ from the manifest's "
            f"{sorted(declared)}"
        )
    for name, spec in declared.items():
        arg = found[name]
        datatype = ORT_TO_V2.get(arg.type, arg.type)
        # A graph dimension is an int when fixed, a name or None when it varies (-1 in a manifest).
        dims = tuple(dim if isinstance(dim, int) else -1 for dim in arg.shape)
        fits = len(dims) == len(spec.shape) and all(
            graph_dim in (-1, wanted) for graph_dim, wanted in zip(dims, spec.shape, strict=True)
        )
        if datatype != spec.datatype or not fits:
            raise ArtifactError(
                f"{path}: {role} {name!r} is {datatype} {list(dims)} in the graph but "
                f"{spec.datatype} {list(spec.shape)} in the manifest"
            )


def _probe(path: Path, model: Model, *, large: bool) -> None:
    """One run on two rows: checks what the signature cannot (the number of probability columns
    and that labels are class names), and warms the session up before the first request."""
    rows = np.zeros((2, model.schema.count), dtype=np.float64)
    rows[1] = np.nan  # the graph cleans NaN itself
    try:
        result = model.predict(rows, large=large)
    except Exception as error:
        raise ArtifactError(f"{path}: the graph fails on a probe input ({error})") from None
    columns = len(model.class_labels)
    if result.probabilities.shape != (2, columns) or result.probabilities.dtype != np.float32:
        raise ArtifactError(
            f"{path}: probabilities come out as {result.probabilities.dtype} "
            f"{list(result.probabilities.shape)} for 2 rows, expected float32 [2, {columns}]"
        )
    unknown = set(result.labels.tolist()) - set(model.class_labels)
    if result.labels.shape != (2,) or unknown:
        raise ArtifactError(
            f"{path}: labels come out as {result.labels.tolist()!r}, not class names from "
            f"{list(model.class_labels)}"
        )
