"""A faithful re-creation of the service ids-inference replaces: the baseline of every benchmark.

FastAPI with pydantic request and response models, the pickle set unpickled at start-up from
`MODEL_PATH`, and per request exactly the calls the old service made: `scaler.transform`,
`model.predict`, `model.predict_proba`, `label_encoder.inverse_transform`. The handlers are
`async def` and run the models on the event loop, and `/predict/batch` loops over the rows calling
the single-row code, because that is what the old service did; making the baseline faster than it
was would flatter nobody. Run it as the old service ran: `python -m benchmarks.baseline_service`
(uvicorn on 0.0.0.0:8000; `--port`, `--host`, `--models` or `MODEL_PATH` to change).

The only liberty taken: uvicorn's access log is off, as it is for every server the benchmarks
start, so that no server pays for logging.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import uvicorn
from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel, field_validator

from models.pickle_set import MODEL_FILES, PickleSet, load_pickle_set

SERVICE_NAME = "Network Intrusion Detection API"
SERVICE_VERSION = "1.0.0"
N_FEATURES = 78
MAX_BATCH = 1000


class FlowFeatures(BaseModel):
    features: list[float]
    model_name: str = "random_forest"

    @field_validator("features")
    @classmethod
    def validate_features(cls, value: list[float]) -> list[float]:
        if len(value) != N_FEATURES:
            raise ValueError(f"Expected {N_FEATURES} features, got {len(value)}")
        return value


class PredictionResponse(BaseModel):
    prediction: str
    confidence: float
    probabilities: dict[str, float]
    model_used: str
    inference_time_ms: float
    timestamp: str


class BatchPredictionResponse(BaseModel):
    total_predictions: int
    total_time_ms: float
    avg_time_per_prediction_ms: float
    results: list[PredictionResponse]


def _pickles(request: Request) -> PickleSet:
    pickles: PickleSet = request.app.state.pickles
    return pickles


def predict_one(pickles: PickleSet, flow: FlowFeatures) -> PredictionResponse:
    """The old service's per-request inference, call for call."""
    if flow.model_name not in pickles.models:
        raise HTTPException(
            status_code=400,
            detail=f"Model '{flow.model_name}' not available. Choose from: {list(pickles.models)}",
        )
    start = time.time()
    model = pickles.models[flow.model_name]
    features = np.array(flow.features).reshape(1, -1)
    scaled = pickles.scaler.transform(features)
    prediction = model.predict(scaled)
    probabilities = model.predict_proba(scaled)[0]
    label = pickles.label_encoder.inverse_transform(prediction)[0]
    inference_time_ms = (time.time() - start) * 1000
    return PredictionResponse(
        prediction=str(label),
        confidence=float(np.max(probabilities)),
        # The encoder's classes name predict_proba's columns (the models predict 0..n-1,
        # checked when the set is loaded): no second inverse_transform, as the old service.
        probabilities={
            str(name): float(p)
            for name, p in zip(pickles.label_encoder.classes_, probabilities, strict=True)
        },
        model_used=flow.model_name,
        inference_time_ms=inference_time_ms,
        timestamp=datetime.now().isoformat(),
    )


def create_app(model_path: Path) -> FastAPI:
    """The baseline app; the pickles are loaded when the lifespan starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pickles = load_pickle_set(model_path)
        yield

    app = FastAPI(title=SERVICE_NAME, version=SERVICE_VERSION, lifespan=lifespan)

    @app.get("/")
    async def root(request: Request) -> dict[str, Any]:
        return {
            "service": SERVICE_NAME,
            "version": SERVICE_VERSION,
            "status": "running",
            "models_loaded": len(_pickles(request).models),
            "endpoints": {
                "health": "/health",
                "models": "/models",
                "predict": "/predict",
                "batch_predict": "/predict/batch",
                "docs": "/docs",
            },
        }

    @app.get("/health")
    async def health(request: Request) -> dict[str, Any]:
        pickles = _pickles(request)
        return {
            "status": "healthy",
            "models_loaded": len(pickles.models),
            "available_models": list(pickles.models),
        }

    @app.get("/models")
    async def models(request: Request) -> dict[str, Any]:
        pickles = _pickles(request)
        return {
            "models": [
                {
                    "name": name,
                    "type": type(model).__name__,
                    "size": (pickles.folder / MODEL_FILES[name]).stat().st_size,
                    "version": SERVICE_VERSION,
                    "loaded": True,
                }
                for name, model in pickles.models.items()
            ],
            "feature_count": len(pickles.feature_names),
            "label_classes": pickles.class_labels,
        }

    @app.post("/predict", response_model=PredictionResponse)
    async def predict(flow: FlowFeatures, request: Request) -> PredictionResponse:
        return predict_one(_pickles(request), flow)

    @app.post("/predict/batch", response_model=BatchPredictionResponse)
    async def predict_batch(flows: list[FlowFeatures], request: Request) -> BatchPredictionResponse:
        if len(flows) > MAX_BATCH:
            raise HTTPException(status_code=413, detail=f"Maximum {MAX_BATCH} flows per batch")
        if not flows:
            raise HTTPException(status_code=422, detail="Empty batch")
        pickles = _pickles(request)
        start = time.time()
        results = [predict_one(pickles, flow) for flow in flows]
        total_time_ms = (time.time() - start) * 1000
        return BatchPredictionResponse(
            total_predictions=len(results),
            total_time_ms=total_time_ms,
            avg_time_per_prediction_ms=total_time_ms / len(results),
            results=results,
        )

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--models", type=Path, default=Path(os.environ.get("MODEL_PATH", "models")))
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    uvicorn.run(create_app(args.models), host=args.host, port=args.port, access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
