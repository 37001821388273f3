"""Metrics and partial credit, computed on the trusted side with numpy only."""

from __future__ import annotations

import numpy as np


def mse(predictions: np.ndarray, targets: np.ndarray) -> float:
    if predictions.shape != targets.shape:
        raise ValueError(f"shape mismatch: predictions {predictions.shape}, targets {targets.shape}")
    return float(np.mean((predictions.astype(np.float64) - targets.astype(np.float64)) ** 2))


def accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """The predicted class is the output with the largest value (argmax), as in the lesson."""
    if scores.ndim != 2 or scores.shape[0] != labels.shape[0]:
        raise ValueError(f"shape mismatch: scores {scores.shape}, labels {labels.shape}")
    return float(np.mean(np.argmax(scores, axis=1) == labels))


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
    if how == "best":
        return min(values) if kind == "mse" else max(values)
    ordered = sorted(values)
    middle = ordered[(len(ordered) - 1) // 2] if kind == "accuracy" else ordered[len(ordered) // 2]
    return float(middle)
