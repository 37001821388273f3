"""Tensors as the wire carries them (`grader.protocol.wire.TensorInfo`): type, shape, dtype and,
when not too large, the values, with NaN and inf as None (JSON has neither). Used where a model's
outputs are reported: by the harness on the student's instance, by the trusted side on the rebuilt one.
"""

from __future__ import annotations

import math
from typing import Any

MAX_ELEMENTS = 100_000  # an output larger than this is reported by shape only


def finite_or_none(values: Any) -> Any:
    """Nested lists of floats, with NaN and inf as None."""
    if isinstance(values, list):
        return [finite_or_none(v) for v in values]
    if isinstance(values, float) and not math.isfinite(values):
        return None
    return values


def tensor_report(value: Any) -> dict[str, Any]:
    import torch  # the harness imports this module before torch is needed

    if isinstance(value, (tuple, list)):
        return {"type": type(value).__name__, "length": len(value),
                "item_shapes": [list(item.shape) if isinstance(item, torch.Tensor) else None for item in value[:8]]}
    if not isinstance(value, torch.Tensor):
        return {"type": type(value).__name__}
    report: dict[str, Any] = {"type": "Tensor", "shape": list(value.shape), "dtype": str(value.dtype).replace("torch.", "")}
    if value.numel() <= MAX_ELEMENTS and value.is_floating_point():
        report["values"] = finite_or_none(value.detach().to("cpu", torch.float64).tolist())
    return report
