"""The ways to predict one batch of raw flows, each a peer in the compute benchmark.

- `service`: the pickle path exactly as the old service calls it (scale, predict, predict_proba,
  inverse_transform), with the estimator as it was pickled (its own n_jobs).
- `tuned`: the tuned pickle peer: the same estimator set to one job (thread pools cost more
  than they give on small batches), one `predict_proba` and an argmax, which is what `predict`
  computes anyway.
- `inplace_predict`: XGBoost only, the booster's own fastest entry point, on data scaled to
  float32 beforehand (not timed) with the ONNX session's thread count.
- `onnx`: the artifact's onnxruntime session on raw float64 features; the graph cleans and scales.
- `onnx_batch`: the server's large-batch path (`Model.predict(large=True)`): the artifact's
  batch graph on one intra-op thread per run, rows split between as many concurrent runs as
  there are threads; artifacts without a batch graph have no such path.

`prepare` turns the raw rows into what `predict` takes and is not timed; `predict` is.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from models.pickle_set import PickleSet
from server.model import load_model, session_options

Rows = NDArray[np.float64]


@dataclass(frozen=True)
class Prediction:
    labels: NDArray[Any]
    probabilities: NDArray[Any]


@dataclass(frozen=True)
class Predictor:
    name: str
    prepare: Callable[[Rows], Any]
    predict: Callable[[Any], Prediction]


def _as_is(rows: Rows) -> Rows:
    return rows


def service_predictor(pickles: PickleSet, model_name: str) -> Predictor:
    model = pickles.models[model_name]

    def predict(rows: Rows) -> Prediction:
        scaled = pickles.scaler.transform(rows)
        predicted = model.predict(scaled)
        probabilities = model.predict_proba(scaled)
        return Prediction(pickles.label_encoder.inverse_transform(predicted), probabilities)

    return Predictor("service", _as_is, predict)


def _class_names(pickles: PickleSet, model: Any) -> NDArray[Any]:
    names: NDArray[Any] = pickles.label_encoder.inverse_transform(model.classes_)
    return names


def tuned_predictor(pickles: PickleSet, model_name: str, jobs: int = 1) -> Predictor:
    """`jobs` threads for the estimators that take n_jobs (1: the tuned peer of small batches;
    large batches are also measured with as many jobs as onnxruntime has threads)."""
    model = copy.deepcopy(pickles.models[model_name])
    if "n_jobs" in model.get_params():
        model.set_params(n_jobs=jobs)
    class_names = _class_names(pickles, model)

    def predict(rows: Rows) -> Prediction:
        probabilities = model.predict_proba(pickles.scaler.transform(rows))
        return Prediction(class_names[np.argmax(probabilities, axis=1)], probabilities)

    return Predictor("tuned", _as_is, predict)


def inplace_predictor(pickles: PickleSet, model_name: str, threads: int) -> Predictor | None:
    """XGBoost's `booster.inplace_predict`; None for a model that is not XGBoost."""
    model = pickles.models[model_name]
    if not hasattr(model, "get_booster"):
        return None
    booster = copy.deepcopy(model.get_booster())
    booster.set_param({"nthread": threads})
    class_names = _class_names(pickles, model)

    def prepare(rows: Rows) -> NDArray[np.float32]:
        scaled: NDArray[np.float32] = pickles.scaler.transform(rows).astype(np.float32)
        return scaled

    def predict(scaled: NDArray[np.float32]) -> Prediction:
        scores = booster.inplace_predict(scaled)
        # binary:logistic answers P(class 1) alone; multi:softprob answers every column
        probabilities = np.column_stack([1 - scores, scores]) if scores.ndim == 1 else scores
        return Prediction(class_names[np.argmax(probabilities, axis=1)], probabilities)

    return Predictor("inplace_predict", prepare, predict)


def onnx_session(model_file: Path, threads: int) -> ort.InferenceSession:
    """A session with the server's own options, so in-process figures are the server's."""
    options = session_options(threads, spinning=False)
    return ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])


def onnx_predictor(model_file: Path, threads: int) -> Predictor:
    session = onnx_session(model_file, threads)

    def prepare(rows: Rows) -> Rows:
        return np.ascontiguousarray(rows, dtype=np.float64)

    def predict(rows: Rows) -> Prediction:
        labels, probabilities = session.run(["label", "probabilities"], {"features": rows})
        return Prediction(labels, probabilities)

    return Predictor("onnx", prepare, predict)


def batch_predictor(version_folder: Path, threads: int) -> Predictor | None:
    """The server's own large-batch path with `threads` threads; None without a batch graph."""
    options = session_options(1, spinning=False)
    model = load_model(version_folder, options, session_options(threads, spinning=False))
    if model.manifest.batch is None:
        return None

    def prepare(rows: Rows) -> Rows:
        return np.ascontiguousarray(rows, dtype=np.float64)

    def predict(rows: Rows) -> Prediction:
        answer = model.predict(rows, large=True)
        return Prediction(answer.labels, answer.probabilities)

    return Predictor("onnx_batch", prepare, predict)


def predictors_for(
    pickles: PickleSet, model_name: str, model_file: Path, threads: int, *, jobs: int = 1
) -> list[Predictor]:
    """Every peer for one model, the old service's path first; `jobs` for the tuned pickle."""
    peers = [service_predictor(pickles, model_name), tuned_predictor(pickles, model_name, jobs)]
    inplace = inplace_predictor(pickles, model_name, threads)
    if inplace is not None:
        peers.append(inplace)
    peers.append(onnx_predictor(model_file, threads))
    batch = batch_predictor(model_file.parent, threads)
    if batch is not None:
        peers.append(batch)
    return peers


def latest_onnx(artifacts_dir: Path, model_name: str) -> Path:
    """`artifacts/<model>/<highest version>/model.onnx`, the file the server serves."""
    folder = artifacts_dir / model_name
    versions = [d for d in folder.iterdir() if d.name.isdigit()] if folder.is_dir() else []
    if not versions:
        raise FileNotFoundError(f"no converted versions of {model_name!r} in {artifacts_dir}")
    return max(versions, key=lambda d: int(d.name)) / "model.onnx"
