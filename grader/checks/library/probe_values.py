"""The outputs on the grader's probe points, shared by the checks that read them (no check here)."""

from __future__ import annotations

import numpy as np

from grader.protocol.wire import TensorInfo
from grader.spec import ModelSpec
from grader.spec.probe_points import probe_points_for


def probe_values(spec: ModelSpec, probe: TensorInfo) -> np.ndarray | None:
    """Outputs on the probe points as (points, width). Affinity and range do not depend on the
    output's shape (that is `forward_shape`'s job), so a flattened output is reshaped here."""
    shape = (len(probe_points_for(spec)), spec.output_width)
    if probe.shape is None or int(np.prod(probe.shape)) != shape[0] * shape[1] or probe.values is None:
        return None
    try:
        values = np.array(probe.values, dtype=np.float64)
    except (ValueError, TypeError):
        return None
    return values.reshape(shape) if values.size == shape[0] * shape[1] else None
