"""The inputs the grader probes a model on, beside the data set: chosen here, sent to the sandbox,
and their structure (which points are affine combinations of which) known to the checks."""

from __future__ import annotations

import numpy as np

from grader.spec.schema import ModelSpec


def probe_inputs(width: int) -> np.ndarray:
    """Deterministic probe points: pairs a, b and their affine combinations, some far from the data
    (large inputs are where a missing sigmoid shows)."""
    rng = np.random.default_rng(12345)
    a = rng.normal(0.0, 3.0, size=(4, width))
    b = rng.normal(0.0, 30.0, size=(4, width))
    inner = 0.3 * a + 0.7 * b
    outer = 2.0 * a - 1.0 * b
    return np.concatenate([a, b, inner, outer]).astype(np.float32)


def probe_points_for(model: ModelSpec) -> np.ndarray:
    """The probe points of `model`, each of the shape of one of its inputs (for a model that reads
    indices: whole numbers below its vocabulary, as many)."""
    if model.vocabulary is not None:
        indices = np.random.default_rng(12345).integers(0, model.vocabulary, size=(16, model.input_width))
        return indices.astype(np.float32).reshape(-1, *model.row_shape)
    return probe_inputs(model.input_width).reshape(-1, *model.row_shape)


def affine_groups(count: int) -> list[tuple[int, int, int, float]]:
    """(a, b, combination, t) index groups matching `probe_inputs`."""
    k = count // 4
    groups = [(i, k + i, 2 * k + i, 0.3) for i in range(k)]
    groups += [(i, k + i, 3 * k + i, 2.0) for i in range(k)]
    return groups
