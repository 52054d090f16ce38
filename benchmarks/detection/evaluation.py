"""Scoring the held-out recordings and the held-out CICIDS2017 rows with each model, through
detect's own in-process scorer (the converted graphs in onnxruntime), and judging the recordings'
flows as `ids-inference detect` does (connection ends take their connection's verdict:
`detect.connections`) beside the model's verdict on each flow alone."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.detection.scenarios import SCENARIOS
from detect.connections import ConnectionVerdicts
from detect.local import LocalScorer
from flows.labelling import label_flows
from flows.records import FlowBatch
from flows.stream import read_flows
from models.evaluation import evaluate as test_figures
from models.labels import ATTACK, BENIGN


@dataclass(frozen=True)
class Recording:
    scenario: str
    run: int
    flows: FlowBatch
    attack: np.ndarray[Any, np.dtype[np.bool_]]  # ground truth per flow


@dataclass(frozen=True)
class Outcome:
    model_set: str
    model: str
    scenario: str
    run: int
    attack_flows: int
    detected: int  # attack flows not judged BENIGN by detect
    benign_flows: int
    flagged: int  # benign flows not judged BENIGN by detect
    model_detected: int  # the same two by the model's verdict on each flow alone
    model_flagged: int
    judged_attack: np.ndarray[Any, np.dtype[np.bool_]]  # per flow, by detect


def load_recording(path: Path, scenario: str, run: int) -> Recording:
    flows = FlowBatch.concat(list(read_flows(path)))
    labels = label_flows(flows, SCENARIOS[scenario].rules())
    return Recording(scenario, run, flows, np.array([label != BENIGN for label in labels]))


def evaluate(
    model_set: str, artifacts: Path, models: list[str], recordings: list[Recording]
) -> list[Outcome]:
    outcomes = []
    for model in models:
        scorer = LocalScorer(artifacts, model)
        for recording in recordings:
            alone = scorer.score(recording.flows.features)
            verdicts, _ = ConnectionVerdicts().apply(recording.flows, alone)
            judged = np.array([label != BENIGN for label in verdicts.labels], dtype=bool)
            by_model = np.array([label != BENIGN for label in alone.labels], dtype=bool)
            truth = recording.attack
            outcomes.append(
                Outcome(
                    model_set,
                    model,
                    recording.scenario,
                    recording.run,
                    attack_flows=int(truth.sum()),
                    detected=int((judged & truth).sum()),
                    benign_flows=int((~truth).sum()),
                    flagged=int((judged & ~truth).sum()),
                    model_detected=int((by_model & truth).sum()),
                    model_flagged=int((by_model & ~truth).sum()),
                    judged_attack=judged,
                )
            )
    return outcomes


def cicids_test(
    artifacts: Path, models: list[str], features: np.ndarray[Any, np.dtype[np.float64]], attack: Any
) -> dict[str, dict[str, Any]]:
    """Per model: precision, recall and F1 of ATTACK, and the false-positive rate, on the
    held-out CICIDS2017 rows (`attack`: their truth), with the training report's definitions."""
    classes = [ATTACK, BENIGN]
    truth = np.where(attack, 0, 1)
    figures = {}
    for model in models:
        verdicts = LocalScorer(artifacts, model).score(features)
        judged = np.array([0 if label != BENIGN else 1 for label in verdicts.labels])
        found = test_figures(truth, judged, classes)
        figures[model] = {
            key: found[key] for key in ("precision", "recall", "f1", "false_positive_rate")
        } | {"confusion_matrix": found["confusion_matrix"]}
    return figures
