"""`output_range`: outputs stay in the spec's range (`[0, 1]` for a classifier's probabilities), also
for large inputs (the probe points reach far from the data, where a missing sigmoid shows)."""

from __future__ import annotations

import numpy as np

from grader.checks.base import Check, ModelContext, Verdict, other_than_a_tensor
from grader.checks.library.probe_values import probe_values
from grader.protocol.wire import Failed, TensorInfo
from grader.spec import ModelSpec

RANGE_SLACK = 1e-6


class OutputRange(Check):
    name = "output_range"
    order = 40
    default_points = 0.5

    def applies_to(self, model: ModelSpec) -> bool:
        return model.output_range is not None

    def grade(self, context: ModelContext) -> Verdict:
        assert context.spec.output_range is not None
        low, high = context.spec.output_range
        expected = f"[{low:g}, {high:g}]"
        observed = context.evidence.observation
        probe = observed.probe if observed is not None else None
        if isinstance(probe, Failed):
            return Verdict("error", "forward.raised", {"error": context.describe_error(probe.error)}, expected=expected)
        not_a_tensor = other_than_a_tensor(observed)
        if not_a_tensor is not None:
            return not_a_tensor
        values = probe_values(context.spec, probe) if isinstance(probe, TensorInfo) else None
        if values is None:
            return Verdict("skipped", "skipped.forward_failed", expected=expected)
        if not np.isfinite(values).all():
            return Verdict("failed", "range.not_finite", expected=expected, found="NaN / inf")
        found = f"[{values.min():.3g}, {values.max():.3g}]"
        bounds = {"low": f"{low:g}", "high": f"{high:g}"}
        if values.min() < low - RANGE_SLACK or values.max() > high + RANGE_SLACK:
            return Verdict("failed", "range.outside", bounds, expected=expected, found=found)
        return Verdict("passed", "range.passed", bounds, expected=expected, found=found)
