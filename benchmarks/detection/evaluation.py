"""Scoring the held-out recordings with each model, through detect's own in-process scorer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.detection.scenarios import SCENARIOS
from detect.local import LocalScorer
from flows.labelling import label_flows
from flows.records import FlowBatch
from flows.stream import read_flows
from models.labels import BENIGN


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
    detected: int  # attack flows not judged BENIGN
    benign_flows: int
    flagged: int  # benign flows not judged BENIGN
    judged_attack: np.ndarray[Any, np.dtype[np.bool_]]  # per flow


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
            verdicts = scorer.score(recording.flows.features)
            judged = np.array([label != BENIGN for label in verdicts.labels], dtype=bool)
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
                    judged_attack=judged,
                )
            )
    return outcomes
