"""Metrics and partial credit, computed on the trusted side with numpy only.

`KINDS` is the registry of the metrics a spec may name (`metric.kind`): how each is computed from a
model's test predictions, and which way is better. A new metric is a function and a line there, and
its texts in the catalogue (`metric.full.<kind>`, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np


def _same_shape(predictions: np.ndarray, targets: np.ndarray) -> None:
    if predictions.shape != targets.shape:
        raise ValueError(f"shape mismatch: predictions {predictions.shape}, targets {targets.shape}")


def mse(predictions: np.ndarray, targets: np.ndarray) -> float:
    _same_shape(predictions, targets)
    return float(np.mean((predictions.astype(np.float64) - targets.astype(np.float64)) ** 2))


def mae(predictions: np.ndarray, targets: np.ndarray) -> float:
    _same_shape(predictions, targets)
    return float(np.mean(np.abs(predictions.astype(np.float64) - targets.astype(np.float64))))


def r2(predictions: np.ndarray, targets: np.ndarray) -> float:
    """The coefficient of determination of each output, averaged over the outputs (1: perfect, 0: no
    better than the test targets' mean); an output whose targets do not vary counts 1 if matched."""
    _same_shape(predictions, targets)
    y, p = targets.astype(np.float64).reshape(len(targets), -1), predictions.astype(np.float64).reshape(len(targets), -1)
    residual, total = ((y - p) ** 2).sum(axis=0), ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    scores = np.where(total > 0, 1 - residual / np.where(total > 0, total, 1), (residual == 0).astype(np.float64))
    return float(scores.mean())


def macro_f1(scores: np.ndarray, labels: np.ndarray) -> float:
    """The mean over the classes (those that are in the labels or predicted) of each class's F1,
    2·TP / (2·TP + FP + FN); the predicted class is the argmax, as for accuracy."""
    if scores.ndim != 2 or scores.shape[0] != labels.shape[0]:
        raise ValueError(f"shape mismatch: scores {scores.shape}, labels {labels.shape}")
    predicted = np.argmax(scores, axis=1)
    f1s = []
    for label in range(scores.shape[1]):
        tp = int(np.sum((predicted == label) & (labels == label)))
        wrong = int(np.sum((predicted == label) != (labels == label)))  # FP + FN
        if tp or wrong:
            f1s.append(2 * tp / (2 * tp + wrong))
    return float(np.mean(f1s)) if f1s else 0.0


def accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """The predicted class is the output with the largest value (argmax), as in the lesson."""
    if scores.ndim != 2 or scores.shape[0] != labels.shape[0]:
        raise ValueError(f"shape mismatch: scores {scores.shape}, labels {labels.shape}")
    return float(np.mean(np.argmax(scores, axis=1) == labels))


def class_scores(outputs: np.ndarray, threshold: float | None) -> np.ndarray:
    """One score per class, whose largest is the predicted class: the outputs, or, for one output
    that decides between two classes (`target = "class_index"`), how far below and above
    `threshold` it is (at the threshold: the first class)."""
    if threshold is None or outputs.ndim != 2 or outputs.shape[1] != 1:
        return outputs
    return np.concatenate([threshold - outputs, outputs - threshold], axis=1)


def partial_credit(value: float, full_credit: float, zero_credit: float) -> float:
    """1 at or beyond `full_credit`, 0 at or beyond `zero_credit`, linear in between.

    Works for lower-is-better (MSE: full < zero) and higher-is-better (accuracy: full > zero).
    """
    if not np.isfinite(value):
        return 0.0
    fraction = (zero_credit - value) / (zero_credit - full_credit)
    return float(np.clip(round(fraction, 6), 0.0, 1.0))


def aggregate(values: list[float], kind: str, how: str) -> float:
    """One value from the seeds' values: the best, or the median (the lower one for an even count of
    accuracies, so that the value is one a seed really produced)."""
    lower_is_better = KINDS[kind].lower_is_better
    if how == "best":
        return min(values) if lower_is_better else max(values)
    ordered = sorted(values)  # of an even count, the worse of the two middle values
    middle = ordered[len(ordered) // 2] if lower_is_better else ordered[(len(ordered) - 1) // 2]
    return float(middle)


@dataclass(frozen=True)
class MetricKind:
    lower_is_better: bool
    on_classes: bool  # computed from the predicted classes (argmax) and the test classes
    worst: float  # what a seed whose training failed counts as
    compute: Callable[[np.ndarray, np.ndarray, np.ndarray], float]  # (predictions, test targets, test classes)


KINDS: MappingProxyType[str, MetricKind] = MappingProxyType({
    "mse": MetricKind(True, False, float("inf"), lambda p, y, _: mse(p, y)),
    "mae": MetricKind(True, False, float("inf"), lambda p, y, _: mae(p, y)),
    "r2": MetricKind(False, False, float("-inf"), lambda p, y, _: r2(p, y)),
    "accuracy": MetricKind(False, True, 0.0, lambda p, _, c: accuracy(p, c)),
    "macro_f1": MetricKind(False, True, 0.0, lambda p, _, c: macro_f1(p, c)),
})
