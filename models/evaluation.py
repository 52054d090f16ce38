"""Test-split figures of a trained model, as the training report gives them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from models.labels import ATTACK, BENIGN

DEFINITIONS = {
    "precision, recall, f1": "binary task: of the ATTACK class (attack is the positive class); "
    "multiclass task: averaged over classes weighted by support",
    "false_positive_rate": "share of the test split's BENIGN flows predicted as any attack",
    "confusion_matrix": "rows are true classes, columns predicted classes, in `labels` order",
}


def _round(value: float) -> float:
    return round(float(value), 6)


def evaluate(y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str]) -> dict[str, Any]:
    """Accuracy, precision, recall, F1, false-positive rate and confusion matrix.

    `y_true` and `y_pred` are encoded labels: indices into `class_names`.
    """
    indices = list(range(len(class_names)))
    matrix = confusion_matrix(y_true, y_pred, labels=indices)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=indices, zero_division=0
    )
    if list(class_names) == sorted([ATTACK, BENIGN]):
        attack = class_names.index(ATTACK)
        headline = (precision[attack], recall[attack], f1[attack])
    else:
        weights = support / max(support.sum(), 1)
        headline = (precision @ weights, recall @ weights, f1 @ weights)
    false_positive_rate = 0.0
    if BENIGN in class_names:
        benign = class_names.index(BENIGN)
        benign_total = matrix[benign].sum()
        if benign_total:
            false_positive_rate = (benign_total - matrix[benign, benign]) / benign_total
    return {
        "accuracy": _round(accuracy_score(y_true, y_pred)),
        "precision": _round(headline[0]),
        "recall": _round(headline[1]),
        "f1": _round(headline[2]),
        "false_positive_rate": _round(false_positive_rate),
        "macro_f1": _round(f1.mean()),
        "per_class": {
            name: {
                "precision": _round(precision[i]),
                "recall": _round(recall[i]),
                "f1": _round(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(class_names)
        },
        "confusion_matrix": {"labels": list(class_names), "matrix": matrix.tolist()},
    }
