"""`parameter_count`: the model has no more than `max` parameters (graded where the spec asks:
`checks = { parameter_count = { max = 10000 } }` on a model)."""

from __future__ import annotations

import math
from typing import Any

from grader.checks.base import Check, ModelContext, Verdict
from grader.protocol.wire import Construct
from grader.result import Status


class ParameterCount(Check):
    name = "parameter_count"
    order = 70  # after grad_flow, before the metric
    default_points = 0.5
    by_default = False

    def option_problems(self, options: dict[str, Any]) -> list[str]:
        most = options.get("max")
        if set(options) != {"max"} or not isinstance(most, int) or isinstance(most, bool) or most < 1:
            return ["takes one option, max = <a whole number of parameters, at least 1>"]
        return []

    def grade(self, context: ModelContext) -> Verdict:
        observed = context.evidence.observation
        construction = observed.construction if observed is not None else None
        if not isinstance(construction, Construct):
            return Verdict("skipped", "skipped.not_defined")
        count = sum(math.prod(parameter.shape) for parameter in construction.parameters)
        most = context.options(self.name)["max"]
        status: Status = "passed" if count <= most else "failed"
        return Verdict(status, f"parameter_count.{status}", {"count": count, "max": most},
                       expected=f"≤ {most}", found=str(count))
